package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/bottle-dev/bottle/cmd/bottle/internal/termsafe"
	"github.com/bottle-dev/bottle/runner/state"
)

// printRequestBody prints what approving a request does: the Dockerfile
// lines it adds, or the hosts it lets the bottle reach.
func printRequestBody(w io.Writer, req *state.Request) {
	if req.Kind == state.RequestKindEgress {
		fmt.Fprintln(w, "  lets the running bottle reach (egress, in place):")
		for _, h := range req.Egress {
			fmt.Fprintf(w, "    %s\n", termsafe.String(h))
		}
		return
	}
	fmt.Fprintln(w, "  adds:")
	for _, l := range req.Dockerfile {
		fmt.Fprintf(w, "    %s\n", termsafe.String(l))
	}
}

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

func optArg(args []string, i int) string {
	if len(args) > i {
		return args[i]
	}
	return ""
}
