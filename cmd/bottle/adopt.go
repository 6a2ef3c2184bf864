package main

import (
	"bytes"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/bottle-dev/bottle/runner"
)

func (a *app) adoptCommand() *cobra.Command {
	var write bool
	cmd := &cobra.Command{
		Use:   "adopt IDENTITY [--write]",
		Short: "Carry a bottle's approved capabilities into the project, as a reviewable diff",
		Long: `Show, as a unified diff of the project's files, the change that makes the
next plan of the identity's bottle include the capabilities approved for it:

  a dockerfile agent  the approved lines are appended to its Dockerfile, each
                      request under a comment naming it, its reason and date
  an image agent      a Dockerfile AGENT.Dockerfile next to bottle.hcl, FROM the
                      image plus the lines, and the agent block's image
                      replaced in place by dockerfile = "AGENT.Dockerfile"
                      (comments and layout kept, fmt clean)

--write applies it. Requests already in the Dockerfile are left out, so
adopting twice changes nothing. Then bottle plan shows the agent image
rebuilt, and every new bottle of that agent starts with the capability.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := a.runner(nil)
			if err != nil {
				return err
			}
			return a.adopt(r, args[0], write)
		},
	}
	cmd.Flags().BoolVar(&write, "write", false, "apply the change to the project's files")
	return cmd
}

// adopt prints identity's adoption and, with write, applies it.
func (a *app) adopt(r *runner.Runner, identity string, write bool) error {
	ad, err := r.Adopt(identity, nil)
	if err != nil {
		return err
	}
	if len(ad.Edits) == 0 {
		fmt.Fprintf(a.Out, "The capabilities approved for %s are in agent %q already: nothing to adopt.\n", identity, ad.Agent)
		return nil
	}
	if err := writePrintable(a.Out, bytes.NewReader(ad.Diff())); err != nil {
		return err
	}
	if !write {
		fmt.Fprintf(a.Err, "\nbottle adopt %s --write applies this change.\n", identity)
		return nil
	}
	if err := ad.Write(); err != nil {
		return err
	}
	fmt.Fprintf(a.Err, "\nAdopted %d approved requests into agent %q: bottle plan shows its image rebuilt.\n", len(ad.Approvals), ad.Agent)
	return nil
}
