package main

import (
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/bottle-dev/bottle/backend/docker"
	"github.com/bottle-dev/bottle/backend/egress/proxy"
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
