package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/bottle-dev/bottle/cmd/bottle/internal/termsafe"
	"github.com/bottle-dev/bottle/runner"
	"github.com/bottle-dev/bottle/runner/state"
)

func (a *app) requestsCommand() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "requests",
		Short: "List pending capability requests across bottles",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r, err := a.runner(&humanObserver{w: a.Err})
			if err != nil {
				return err
			}
			list, err := r.Requests(cmd.Context())
			if err != nil {
				return err
			}
			if asJSON {
				type item struct {
					Identity   string   `json:"identity"`
					ID         string   `json:"id"`
					Kind       string   `json:"kind"`
					Reason     string   `json:"reason"`
					Dockerfile []string `json:"dockerfile"`
					Egress     []string `json:"egress,omitempty"`
					CreatedAt  string   `json:"created_at"`
					Digest     string   `json:"digest"`
				}
				items := []item{}
				for _, p := range list {
					items = append(items, item{p.Identity, p.Request.ID, p.Request.Kind, p.Request.Reason, p.Request.Dockerfile, p.Request.Egress, p.Request.CreatedAt, p.Digest})
				}
				return writeJSON(a.Out, map[string]any{"format_version": "1", "requests": items})
			}
			if len(list) == 0 {
				fmt.Fprintln(a.Out, "No pending requests.")
				return nil
			}
			for _, p := range list {
				id, reqID := termsafe.String(p.Identity), termsafe.String(p.Request.ID)
				fmt.Fprintf(a.Out, "%s  %s (%s)\n  reason: %s\n", id, reqID, termsafe.String(p.Request.Kind), termsafe.String(p.Request.Reason))
				printRequestBody(a.Out, p.Request)
				fmt.Fprintf(a.Out, "  digest: %s\n", p.Digest)
				fmt.Fprintf(a.Out, "  bottle approve %s %s --digest %s\n  bottle deny %s %s --reason TEXT\n\n", id, reqID, p.Digest, id, reqID)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON document")
	return cmd
}

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

func optArg(args []string, i int) string {
	if len(args) > i {
		return args[i]
	}
	return ""
}
