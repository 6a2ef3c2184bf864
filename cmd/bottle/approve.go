package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/bottle-dev/bottle/cmd/bottle/internal/termsafe"
	"github.com/bottle-dev/bottle/runner"
	"github.com/bottle-dev/bottle/runner/state"
)

func (a *app) approveCommand() *cobra.Command {
	var digest string
	var adopt bool
	cmd := &cobra.Command{
		Use:   "approve IDENTITY [REQUEST]",
		Short: "Grant a capability request: rebuild the bottle with it, keeping its state",
		Long: `Grant a capability request (the only pending one when REQUEST is omitted).
bottle snapshots the agent's transcript (and, in copy mode, its workspace),
preserves the state dir, tears the bottle down and writes the per-bottle
Dockerfile with the requested lines. bottle resume IDENTITY, or a running
bottle watch, brings it back on the new image.

The lines built are the ones bottle froze the first time it read the request
(bottle requests, the dashboard, bottle watch): a request the agent rewrote
since is rejected, never built. approve prints the lines before it builds
them; with --digest it approves only the request bottle requests showed
under that digest.`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := a.runner(nil)
			if err != nil {
				return err
			}
			show := func(identity string, f *state.Frozen) {
				fmt.Fprintf(a.Out, "approving %s for %s (%s):\n", termsafe.String(f.Request.ID), termsafe.String(identity), f.Digest)
				printRequestBody(a.Out, f.Request)
			}
			ap, err := r.Approve(cmd.Context(), args[0], optArg(args, 1), runner.ApproveOptions{Digest: digest, Show: show})
			if err != nil {
				return err
			}
			fmt.Fprintln(a.Out, termsafe.String(runner.ApprovalStatus(ap)))
			if ap.Dockerfile != "" {
				fmt.Fprintf(a.Out, "  per-bottle Dockerfile: %s\n", termsafe.String(ap.Dockerfile))
			}
			if adopt {
				return a.adopt(r, args[0], true)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&digest, "digest", "", "approve only if the request is the one bottle requests showed with this digest")
	cmd.Flags().BoolVar(&adopt, "adopt", false, "also carry the capability into the project (bottle adopt --write)")
	return cmd
}
