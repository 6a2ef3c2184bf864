package main

import (
	"crypto/x509"
	"fmt"
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
func configureProxy(d *docker.Backend, getenv func(string) string) error {
	bin, _ := os.Executable()
	var hosts []string
	for _, h := range strings.Split(getenv(proxyHostsEnv), ",") {
		if h = strings.TrimSpace(h); h != "" {
			hosts = append(hosts, h)
		}
	}
	d.SetProxy(bin, hosts)
	if p := getenv(proxyCAEnv); p != "" {
		pem, err := os.ReadFile(p)
		if err != nil {
			return fmt.Errorf("%s: %w (it names a PEM file of certificates the egress proxies trust; unset it to use the host's)", proxyCAEnv, err)
		}
		if !x509.NewCertPool().AppendCertsFromPEM(pem) {
			return fmt.Errorf("%s: %s holds no PEM certificate", proxyCAEnv, p)
		}
		d.SetProxyCAs(string(pem))
	}
	return nil
}

// proxyCAEnv names a PEM file of certificates the egress proxies trust
// for TLS upstreams besides the host's (a TLS-inspecting gateway; tests'
// stand-ins for real APIs).
const proxyCAEnv = "BOTTLE_EGRESS_CA"
