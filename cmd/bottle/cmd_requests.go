package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/bottle-dev/bottle/cmd/bottle/internal/termsafe"
	"github.com/bottle-dev/bottle/runner"
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
					Reason     string   `json:"reason"`
					Dockerfile []string `json:"dockerfile"`
					CreatedAt  string   `json:"created_at"`
				}
				items := []item{}
				for _, p := range list {
					items = append(items, item{p.Identity, p.Request.ID, p.Request.Reason, p.Request.Dockerfile, p.Request.CreatedAt})
				}
				return writeJSON(a.Out, map[string]any{"format_version": "1", "requests": items})
			}
			if len(list) == 0 {
				fmt.Fprintln(a.Out, "No pending requests.")
				return nil
			}
			for _, p := range list {
				id, reqID := termsafe.String(p.Identity), termsafe.String(p.Request.ID)
				fmt.Fprintf(a.Out, "%s  %s\n  reason: %s\n  adds:\n", id, reqID, termsafe.String(p.Request.Reason))
				for _, l := range p.Request.Dockerfile {
					fmt.Fprintf(a.Out, "    %s\n", termsafe.String(l))
				}
				fmt.Fprintf(a.Out, "  bottle approve %s %s\n  bottle deny %s %s --reason TEXT\n\n", id, reqID, id, reqID)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON document")
	return cmd
}

func (a *app) approveCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "approve IDENTITY [REQUEST]",
		Short: "Grant a capability request: rebuild the bottle with it, keeping its state",
		Long: `Grant a capability request (the only pending one when REQUEST is omitted).
bottle snapshots the agent's transcript (and, in copy mode, its workspace),
preserves the state dir, tears the bottle down and writes the per-bottle
Dockerfile with the requested lines. bottle resume IDENTITY, or a running
bottle watch, brings it back on the new image.`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := a.runner(nil)
			if err != nil {
				return err
			}
			ap, err := r.Approve(cmd.Context(), args[0], optArg(args, 1))
			if err != nil {
				return err
			}
			fmt.Fprintln(a.Out, termsafe.String(runner.ApprovalStatus(ap)))
			fmt.Fprintf(a.Out, "  adds: %s\n  per-bottle Dockerfile: %s\n", termsafe.String(strings.Join(ap.Request.Dockerfile, "; ")), termsafe.String(ap.Dockerfile))
			return nil
		},
	}
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
