package smolvm

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bottle-dev/bottle/backend"
	"github.com/bottle-dev/bottle/backend/egress"
)

func policy(t *testing.T, entries ...string) *backend.EgressSpec {
	t.Helper()
	p := egress.Policy{Identity: "x"}
	for _, e := range entries {
		r, err := egress.ParseRule(e)
		if err != nil {
			t.Fatal(err)
		}
		p.Allow = append(p.Allow, r)
	}
	return &backend.EgressSpec{Policy: p}
}

// TestNetworkArgs: no network is offline, an open network --net, a policy
// its allowlist without --net (the allowlist implies it), an empty policy
// nothing at all; what smolvm would widen, and a secret, are errors.
func TestNetworkArgs(t *testing.T) {
	cases := []struct {
		spec backend.Spec
		want string
	}{
		{backend.Spec{}, ""},
		{backend.Spec{Network: true}, "--net"},
		{backend.Spec{Egress: policy(t, "a.example.com:*")}, ""},
		{backend.Spec{Network: true, Egress: policy(t)}, ""},
		{backend.Spec{Network: true, Egress: policy(t, "*.example.com:*", "example.com:*", "10.0.0.1:*", "[::1]:*")},
			"--allow-host example.com --allow-cidr 10.0.0.1/32 --allow-cidr ::1/128"},
	}
	for _, c := range cases {
		got, err := networkArgs(c.spec)
		if err != nil || strings.Join(got, " ") != c.want {
			t.Errorf("networkArgs(network %v, egress %v) = %q, %v; want %q", c.spec.Network, c.spec.Egress, got, err, c.want)
		}
	}
	for _, eg := range []*backend.EgressSpec{policy(t, "example.com"), policy(t, "example.com:443", "*.example.com:*"), policy(t, "*.example.com:*")} {
		if got, err := networkArgs(backend.Spec{Network: true, Egress: eg}); err == nil || !strings.Contains(err.Error(), "smolvm") {
			t.Errorf("policy %v: %q, %v; want an error", eg.Policy.Allow, got, err)
		}
	}
	sec := policy(t, "a.example.com:*", "*.a.example.com:*")
	sec.Policy.Secrets = []egress.Secret{{Name: "TOKEN", Value: "v"}}
	if _, err := networkArgs(backend.Spec{Network: true, Egress: sec}); err == nil || !strings.Contains(err.Error(), "secret TOKEN") {
		t.Errorf("a secret: %v", err)
	}
}

// TestAllowlistReachesSmolvm creates a bottle with a policy through the
// fake CLI and reads the machine's allowlist as smolvm recorded it: the
// host resolved at create (from the fake's hosts file, never DNS), the
// address as a /32, network on, and nothing more.
func TestAllowlistReachesSmolvm(t *testing.T) {
	e := newEnv(t)
	hosts := filepath.Join(t.TempDir(), "hosts")
	e.must(os.WriteFile(hosts, []byte("127.0.0.1 allowed.bottle.test\n"), 0o644), "write hosts")
	e.b.env = append(e.b.env, "FAKESMOLVM_HOSTS="+hosts)
	id := e.create(backend.Spec{Command: []string{"true"}, Network: true,
		Egress: policy(t, "allowed.bottle.test:*", "*.allowed.bottle.test:*", "10.9.8.7:*")})
	var data string
	for _, kv := range e.b.env {
		if v, ok := strings.CutPrefix(kv, "SMOLVM_DATA_DIR="); ok {
			data = v
		}
	}
	raw, err := os.ReadFile(filepath.Join(data, ".local", "share", "smolvm", "server", "fakesmolvm.json"))
	e.must(err, "read the fake's state")
	var db struct {
		Machines map[string]struct {
			Network        bool     `json:"network"`
			AllowedCIDRs   []string `json:"allowed_cidrs"`
			DNSFilterHosts []string `json:"dns_filter_hosts"`
		} `json:"machines"`
	}
	e.must(json.Unmarshal(raw, &db), "parse the fake's state")
	m, ok := db.Machines[id]
	if !ok {
		t.Fatalf("no machine %s in %s", id, raw)
	}
	if !m.Network || !slices.Equal(m.DNSFilterHosts, []string{"allowed.bottle.test"}) ||
		!slices.Equal(m.AllowedCIDRs, []string{"10.9.8.7/32", "127.0.0.1/32"}) {
		t.Errorf("machine allowlist: network %v, hosts %v, cidrs %v", m.Network, m.DNSFilterHosts, m.AllowedCIDRs)
	}
}
