package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/bottle-dev/bottle/backend/egress"
	"github.com/bottle-dev/bottle/backend/egress/proxy"
	"github.com/bottle-dev/bottle/cmd/bottle/internal/termsafe"
	"github.com/bottle-dev/bottle/runner"
)

// egressLogs prints an identity's egress report, one event a line. Hosts
// and reasons come from the agent's requests: they are escaped.
func (a *app) egressLogs(ctx context.Context, r *runner.Runner, identity string) error {
	events, err := r.EgressEvents(ctx, identity)
	if err != nil {
		return err
	}
	if len(events) == 0 {
		fmt.Fprintf(a.Out, "No egress events for %s (no egress policy, or nothing happened yet).\n", identity)
		return nil
	}
	for _, ev := range events {
		// A Rule writes the port back as the language does (":*" for
		// every port, none for 80 and 443).
		dest := termsafe.String(egress.Rule{Host: ev.Host, Port: ev.Port}.String())
		at := ev.Time.Local().Format("2006-01-02 15:04:05")
		switch ev.Event {
		case proxy.EventDenied:
			fmt.Fprintf(a.Out, "%s  denied   %s  %s\n", at, dest, termsafe.String(ev.Reason))
		case proxy.EventAllowed:
			fmt.Fprintf(a.Out, "%s  allowed  %s  %d request(s)\n", at, dest, ev.Count)
		case proxy.EventGrant:
			fmt.Fprintf(a.Out, "%s  granted  %s\n", at, dest)
		}
	}
	return nil
}

func (a *app) logsCommand() *cobra.Command {
	var follow, egress bool
	cmd := &cobra.Command{
		Use:   "logs IDENTITY",
		Short: "Print what a bottle's agent printed (--egress: what its proxy allowed and denied)",
		Long: `Print what a bottle's agent printed, as it printed it: escape sequences
included, as docker logs does, because this is the agent's own terminal output.
Everything else bottle prints from a bottle is escaped; pipe this through
cat -v, or read it with l in bottle dashboard, to see it escaped.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := a.runner(nil)
			if err != nil {
				return err
			}
			if egress {
				return a.egressLogs(cmd.Context(), r, args[0])
			}
			return r.Logs(cmd.Context(), args[0], follow, a.Out)
		},
	}
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "keep streaming until the agent ends")
	cmd.Flags().BoolVar(&egress, "egress", false, "show the egress report: denials, per-host counts of allowed requests, grants")
	return cmd
}
