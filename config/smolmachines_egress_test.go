package config

import (
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
)

// TestSmolmachinesEgressErrors checks that every entry smolvm's address
// allowlist would widen, and every secret, is an error at its own range
// (line and columns) naming the backend, all at once; and that the same
// bottle on docker is valid.
func TestSmolmachinesEgressErrors(t *testing.T) {
	src := `
agent "a" {
  image = "busybox"
  egress { allow = ["api.example.com"] }
}
bottle "s" {
  agent   = agent.a
  backend = "smolmachines"
  egress {
    allow = ["github.com:22", "*.npmjs.org:*", "pypi.org:*", "*.pypi.org:*", "10.0.0.5", "10.0.0.6:*", "gitlab.com:*"]
  }
  secret "TOKEN" {
    value = "v"
    hosts = ["pypi.org"]
  }
}
`
	dir := writeConfig(t, src, nil)
	_, diags := Load(dir, Options{Env: noEnv})
	type at struct{ line, col, endCol int }
	want := map[at]string{
		{4, 21, 38}:    "admits ports 80 and 443 only",
		{10, 14, 29}:   "not by port",
		{10, 31, 46}:   "without npmjs.org itself",
		{10, 78, 88}:   `write "10.0.0.5:*"`,
		{10, 104, 118}: "every name under an allowed name",
		{12, 3, 17}:    "keep secret TOKEN out of the bottle",
	}
	got := map[at]*hcl.Diagnostic{}
	for _, d := range diags {
		got[at{d.Subject.Start.Line, d.Subject.Start.Column, d.Subject.End.Column}] = d
	}
	for pos, frag := range want {
		d := got[pos]
		if d == nil || !strings.Contains(d.Detail, frag) || !strings.Contains(d.Detail, `"smolmachines" backend`) && !strings.Contains(d.Detail, "smolmachines backend") {
			t.Errorf("want an error at %d:%d-%d mentioning %q and the backend; got %v", pos.line, pos.col, pos.endCol, frag, d)
		}
	}
	if len(diags) != len(want) {
		for _, d := range diags {
			t.Logf("%s: %s: %s", d.Subject, d.Summary, d.Detail)
		}
		t.Errorf("%d diagnostics, want %d", len(diags), len(want))
	}
	docker := strings.Replace(src, `backend = "smolmachines"`, `backend = "docker"`, 1)
	if _, diags := Load(writeConfig(t, docker, nil), Options{Env: noEnv}); diags.HasErrors() {
		t.Errorf("the same bottle on docker: %v", diags)
	}
}

// TestSmolmachinesEgressMapped: entries that say what smolvm enforces load,
// and network = true without egress stays open.
func TestSmolmachinesEgressMapped(t *testing.T) {
	cfg, diags := Load(writeConfig(t, `
agent "a" {
  image = "busybox"
}
bottle "s" {
  agent   = agent.a
  backend = "smolmachines"
  egress { allow = ["api.example.com:*", "*.api.example.com:*", "[::1]:*"] }
}
bottle "open" {
  agent   = agent.a
  backend = "smolmachines"
}
`, nil), Options{Env: noEnv})
	if diags.HasErrors() {
		t.Fatal(renderDiags(t, cfg, diags))
	}
	if b := cfg.Bottle("s"); !b.Egress || len(b.Allow) != 3 {
		t.Errorf("bottle s: egress %v, allow %v", b.Egress, b.Allow)
	}
	if b := cfg.Bottle("open"); b.Egress || !b.Network {
		t.Errorf("bottle open: egress %v, network %v", b.Egress, b.Network)
	}
}
