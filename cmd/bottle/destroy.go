package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/bottle-dev/bottle/runner"
)

func (a *app) destroyCommand() *cobra.Command {
	var all bool
	cmd := &cobra.Command{
		Use:   "destroy IDENTITY... | --all",
		Short: "Tear bottles down and remove their state, preserved or not",
		RunE: func(cmd *cobra.Command, args []string) error {
			if all == (len(args) > 0) {
				return fmt.Errorf("name the identities to destroy, or pass --all (see bottle ls)")
			}
			r, err := a.runner(nil)
			if err != nil {
				return err
			}
			if all {
				list, err := r.Status(cmd.Context())
				if err != nil {
					return err
				}
				for _, b := range list {
					if b.State != runner.StatusError || b.Bottle != "" {
						args = append(args, b.Identity)
					}
				}
			}
			var failed bool
			for _, id := range args {
				if err := r.Destroy(cmd.Context(), id); err != nil {
					a.printError(err)
					failed = true
					continue
				}
				fmt.Fprintf(a.Out, "Destroyed %s.\n", id)
			}
			if failed {
				return exitCodeError{exitError}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&all, "all", false, "destroy every bottle")
	return cmd
}
