package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/bottle-dev/bottle/config"
)

func (a *app) validateCommand() *cobra.Command {
	// As terraform validate: a variable without a value is unknown, and
	// only what can be checked without it is.
	cf := configFlags{unset: config.UnsetUnknown}
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "validate",
		Short: "Check bottle.hcl for errors",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !asJSON {
				if _, _, err := a.load(&cf); err != nil {
					return err
				}
				fmt.Fprintln(a.Out, "Success! The configuration is valid.")
				return nil
			}
			vars, err := cf.varMap()
			if err != nil {
				return err
			}
			_, diags := config.Load(cf.file, cf.options(a, vars))
			out := map[string]any{
				"format_version": "1", "valid": !diags.HasErrors(),
				"error_count": len(diags.Errs()), "warning_count": len(diags) - len(diags.Errs()),
				"diagnostics": toJSONDiagnostics(diags),
			}
			if err := writeJSON(a.Out, out); err != nil {
				return err
			}
			if diags.HasErrors() {
				return exitCodeError{exitError}
			}
			return nil
		},
	}
	cf.register(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON document")
	return cmd
}

var errReported = errors.New("reported")
