package config

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/bottle-dev/bottle/backend/egress"
)

func loadSource(t *testing.T, src string, env map[string]string) *Config {
	t.Helper()
	path := filepath.Join(t.TempDir(), "bottle.hcl")
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, diags := Load(path, Options{Env: func(k string) (string, bool) { v, ok := env[k]; return v, ok }})
	if diags.HasErrors() {
		t.Fatalf("load: %s", diags.Error())
	}
	return cfg
}

// TestContainmentUnion checks that a bottle's policy is the union of its
// agent's allow entries and its own, and that its secret replaces the
// agent's of the same name.
func TestContainmentUnion(t *testing.T) {
	cfg := loadSource(t, `
agent "claude" {
  image = "busybox"
  egress { allow = ["api.anthropic.com"] }
  secret "ANTHROPIC_API_KEY" {
    value = env("KEY")
    hosts = ["api.anthropic.com"]
  }
  secret "GH_TOKEN" {
    value = "agent-token"
    hosts = ["http://github.internal:8080"]
  }
}
bottle "fixer" {
  agent = agent.claude
  egress { allow = ["*.npmjs.org", "github.com:443", "[::1]:8443"] }
  secret "GH_TOKEN" {
    value = "bottle-token"
    hosts = ["github.com"]
  }
  security {
    capabilities = ["cap_net_raw", "NET_RAW"]
    pids_limit   = 0
  }
}
bottle "open" {
  agent = agent.claude
}
`, map[string]string{"KEY": "sk-real"})
	b := cfg.Bottle("fixer")
	if !b.Egress {
		t.Fatal("Egress is false")
	}
	var allow []egress.Rule
	for _, a := range b.Allow {
		allow = append(allow, a.Rule)
	}
	want := []egress.Rule{{Host: "api.anthropic.com"}, {Host: "*.npmjs.org"}, {Host: "github.com", Port: 443}, {Host: "::1", Port: 8443}}
	if d := cmp.Diff(want, allow); d != "" {
		t.Errorf("allow (-want +got):\n%s", d)
	}
	if len(b.Secrets) != 2 {
		t.Fatalf("secrets: %d", len(b.Secrets))
	}
	key, gh := b.Secrets[0], b.Secrets[1]
	if key.Name != "ANTHROPIC_API_KEY" || key.Value() != "sk-real" || !key.Agent {
		t.Errorf("key secret: %+v", key)
	}
	if gh.Value() != "bottle-token" || gh.Agent || gh.Hosts[0] != (egress.Upstream{Scheme: "https", Host: "github.com", Port: 443}) {
		t.Errorf("the bottle's GH_TOKEN should win: %+v", gh)
	}
	if s := b.Security; s == nil || len(s.Capabilities) != 1 || s.Capabilities[0] != "NET_RAW" || s.PidsLimit == nil || *s.PidsLimit != 0 || s.NoNewPrivileges != nil {
		t.Errorf("security: %+v", b.Security)
	}
	// The agent's egress block applies to every bottle of the agent.
	if o := cfg.Bottle("open"); !o.Egress || len(o.Allow) != 1 || o.Security != nil {
		t.Errorf("open: %+v", o.Containment)
	}
}

// TestNoEgressIsOpen checks that a bottle without any egress block keeps
// today's fully open network.
func TestNoEgressIsOpen(t *testing.T) {
	cfg := loadSource(t, `
agent "a" { image = "busybox" }
bottle "b" { agent = agent.a }
`, nil)
	if b := cfg.Bottle("b"); b.Egress || !b.Network || len(b.Secrets) != 0 {
		t.Errorf("want open network, got %+v", b.Containment)
	}
}
