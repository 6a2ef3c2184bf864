package config

import (
	"path/filepath"
	"sync"
	"testing"

	"github.com/hashicorp/hcl/v2"
)

// TestRanges: the ranges kept for later errors point at the right lines.
func TestRanges(t *testing.T) {
	cfg, diags := Load(filepath.Join("testdata", "valid", "full.hcl"), Options{Env: fixtureEnv})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	a, b := cfg.Agents["claude"], cfg.Bottle("fixer")
	for _, tt := range []struct {
		name string
		r    hcl.Range
		line int
	}{
		{"agent decl", a.DeclRange, 27},
		{"dockerfile", a.DockerfileRange, 28},
		{"context", a.ContextRange, 29},
		{"command", a.CommandRange, 30},
		{"transcript", a.TranscriptRange, 32},
		{"bottle decl", b.DeclRange, 48},
		{"agent ref", b.AgentRange, 49},
		{"backend", b.BackendRange, 50},
		{"cwd path", b.Cwd.PathRange, 57},
		{"cpus", b.CPUsRange, 64},
		{"memory", b.MemoryRange, 65},
		{"plain context defaults to dockerfile", cfg.Agents["plain"].ContextRange, 45},
		{"backend unset: bottle header", cfg.Bottle("reviewer").BackendRange, 69},
	} {
		if tt.r.Start.Line != tt.line || tt.r.Filename != filepath.Join("testdata", "valid", "full.hcl") {
			t.Errorf("%s: range %s, want line %d", tt.name, tt.r, tt.line)
		}
	}
}

// TestLaunchConcurrent: the runner may launch several bottles of one config
// at once; file() reads during Launch must not race.
func TestLaunchConcurrent(t *testing.T) {
	dir := writeConfig(t, `
agent "a" {
  image   = "busybox"
  command = ["echo", file("msg.txt"), session.id]
}
bottle "b" {
  agent = agent.a
}
`, map[string]string{"msg.txt": "hi"})
	cfg, diags := Load(dir, Options{Env: noEnv})
	if diags.HasErrors() {
		t.Fatal(renderDiags(t, cfg, diags))
	}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			l, diags := cfg.Bottle("b").Launch(Session{ID: string(rune('a' + i)), Identity: "b-xxxxx"})
			if diags.HasErrors() || l.Command[1].Value != "hi" || l.Command[2].Value != string(rune('a'+i)) {
				t.Errorf("Launch: %+v, %v", l, diags)
			}
		})
	}
	wg.Wait()
}

// TestLaunchErrors: a value that fails only once the session is known is
// reported by Launch, pointing at the expression.
func TestLaunchErrors(t *testing.T) {
	dir := writeConfig(t, `
agent "a" {
  image   = "busybox"
  command = ["sleep", tonumber(session.id)]
  env = {
    N = tostring(tonumber(session.identity))
  }
}
bottle "b" {
  agent = agent.a
}
`, nil)
	cfg, diags := Load(dir, Options{Env: noEnv})
	if diags.HasErrors() {
		t.Fatal(renderDiags(t, cfg, diags))
	}
	if _, diags := cfg.Bottle("b").Launch(Session{ID: "5", Identity: "b-x"}); len(diags) != 1 || diags[0].Subject.Start.Line != 6 {
		t.Errorf("Launch diags = %v, want one on line 6", diags)
	}
	if _, diags := cfg.Bottle("b").Launch(Session{ID: "not-a-number", Identity: "b"}); !diags.HasErrors() || diags[0].Subject.Start.Line != 4 {
		t.Errorf("Launch diags = %v, want one on line 4", diags)
	}
	var zero *Bottle
	if _, diags := zero.Launch(Session{}); !diags.HasErrors() {
		t.Error("Launch on a nil bottle: no error")
	}
}
