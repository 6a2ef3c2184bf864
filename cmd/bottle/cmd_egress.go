package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/bottle-dev/bottle/backend/docker"
	"github.com/bottle-dev/bottle/backend/egress/proxy"
	"github.com/bottle-dev/bottle/cmd/bottle/internal/termsafe"
	"github.com/bottle-dev/bottle/runner"
	"github.com/bottle-dev/bottle/runner/state"
)

// egressProxyCommand is what a bottle's egress proxy container runs: this
// very binary (docker builds the proxy image from it). Hidden: it is not
// for people.
func (a *app) egressProxyCommand() *cobra.Command {
	return &cobra.Command{
		Use:                "egress-proxy",
		Short:              "Run a bottle's egress proxy (inside its proxy container)",
		Hidden:             true,
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			if code := proxy.Main(cmd.Context(), args, a.In, a.Out, a.Err); code != 0 {
				return exitCodeError{code: code}
			}
			return nil
		},
	}
}

// proxyHostsEnv adds host:ip entries to the /etc/hosts of egress proxies,
// comma-separated: how tests (and air-gapped setups) map names such as
// api.anthropic.com onto local upstreams.
const proxyHostsEnv = "BOTTLE_EGRESS_HOSTS"

// configureProxy points the docker backend's proxies at this executable
// and at the operator's host mappings.
func configureProxy(d *docker.Backend, getenv func(string) string) {
	bin, _ := os.Executable()
	var hosts []string
	for _, h := range strings.Split(getenv(proxyHostsEnv), ",") {
		if h = strings.TrimSpace(h); h != "" {
			hosts = append(hosts, h)
		}
	}
	d.SetProxy(bin, hosts)
}

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
		dest := termsafe.String(ev.Host)
		if ev.Port != 0 {
			dest = termsafe.String(net.JoinHostPort(ev.Host, strconv.Itoa(ev.Port)))
		}
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
