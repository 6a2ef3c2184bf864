package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/bottle-dev/bottle/cmd/bottle/internal/termsafe"
)

func (a *app) denyCommand() *cobra.Command {
	var reason string
	cmd := &cobra.Command{
		Use:   "deny IDENTITY [REQUEST]",
		Short: "Refuse a capability request; the bottle keeps running",
		Args:  cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := a.runner(nil)
			if err != nil {
				return err
			}
			req, err := r.Deny(cmd.Context(), args[0], optArg(args, 1), reason)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.Out, "denied %s for %s\n", termsafe.String(req.ID), termsafe.String(args[0]))
			return nil
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "tell the agent why")
	return cmd
}
