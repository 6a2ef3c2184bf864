package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func (a *app) stopCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "stop IDENTITY",
		Short: "Tear a bottle down; its state is removed unless preserved",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			// The observer shows where a copied workspace was exported.
			r, err := a.runner(&humanObserver{w: a.Err})
			if err != nil {
				return err
			}
			preserved, err := r.Stop(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if preserved {
				fmt.Fprintf(a.Out, "Stopped %s; its state is preserved. Resume it with:\n  bottle resume %s\n", args[0], args[0])
			} else {
				fmt.Fprintf(a.Out, "Stopped %s.\n", args[0])
			}
			return nil
		},
	}
}
