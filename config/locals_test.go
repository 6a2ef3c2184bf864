package config

import (
	"testing"
)

// TestLocalsOrder: locals may be declared in any order and across blocks.
func TestLocalsOrder(t *testing.T) {
	dir := writeConfig(t, `
locals {
  c = "${local.b}c"
}
locals {
  b = "${local.a}b"
  a = "a"
}
agent "x" {
  image = local.c
}
`, nil)
	cfg, diags := Load(dir, Options{Env: noEnv})
	if diags.HasErrors() {
		t.Fatal(renderDiags(t, cfg, diags))
	}
	if got := cfg.Agents["x"].Image; got != "abc" {
		t.Errorf("image = %q, want abc", got)
	}
}

// TestLocalsCycle: every local in a cycle gets the error; a local that only
// depends on the cycle, and the locals outside it, get none.
func TestLocalsCycle(t *testing.T) {
	dir := writeConfig(t, `
locals {
  a     = local.c
  b     = local.a
  c     = local.b
  uses  = local.a
  fine  = "x"
}
`, nil)
	_, diags := Load(dir, Options{Env: noEnv})
	lines := map[int]bool{}
	for _, d := range diags {
		if d.Summary != "Cycle in local values" {
			t.Errorf("unexpected diagnostic: %s", d.Error())
			continue
		}
		lines[d.Subject.Start.Line] = true
	}
	if len(lines) != 3 || !lines[3] || !lines[4] || !lines[5] {
		t.Errorf("cycle errors on lines %v, want 3, 4 and 5", lines)
	}
}
