package config

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
)

// noEnv is an empty environment, so that tests do not depend on the host's.
func noEnv(string) (string, bool) { return "", false }

// renderDiags renders diagnostics the way the CLI does, without color.
func renderDiags(t *testing.T, cfg *Config, diags hcl.Diagnostics) string {
	t.Helper()
	var buf bytes.Buffer
	w := hcl.NewDiagnosticTextWriter(&buf, cfg.SourceFiles(), 0, false)
	if err := w.WriteDiagnostics(diags); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// TestExamples loads every examples/*/bottle.hcl and checks that it is
// already formatted.
func TestExamples(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join("..", "examples", "*", FileName))
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) < 2 {
		t.Fatalf("found %d examples, want at least demo and claude", len(paths))
	}
	for _, path := range paths {
		name := filepath.Base(filepath.Dir(path))
		t.Run(name, func(t *testing.T) {
			cfg, diags := Load(path, Options{Env: noEnv})
			if len(diags) > 0 {
				t.Fatalf("Load: %s", renderDiags(t, cfg, diags))
			}
			if len(cfg.Bottles) == 0 {
				t.Fatal("no bottle")
			}
			for _, b := range cfg.Bottles {
				if _, diags := b.Launch(Session{}); diags.HasErrors() {
					t.Errorf("Launch(%s): %s", b.Name, renderDiags(t, cfg, diags))
				}
			}
			src, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			out, diags := Format(path, src)
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			if !bytes.Equal(out, src) {
				t.Errorf("%s is not formatted; run bottle fmt. Formatted:\n%s", path, out)
			}
		})
	}
}

// TestExampleDemo checks what the quick start relies on.
func TestExampleDemo(t *testing.T) {
	cfg, diags := Load(filepath.Join("..", "examples", "demo"), Options{Env: noEnv})
	if diags.HasErrors() {
		t.Fatal(renderDiags(t, cfg, diags))
	}
	b := cfg.Bottle("demo")
	if b == nil || b.Cwd == nil || !b.Cwd.Copy || b.Cwd.Target != "/workspace" {
		t.Fatalf("demo bottle: %+v", b)
	}
	if !strings.HasSuffix(b.Cwd.Path, filepath.Join("examples", "demo", "project")) {
		t.Errorf("cwd path = %s", b.Cwd.Path)
	}
	if b.Agent.Transcript != "/home/agent/.demo" {
		t.Errorf("transcript = %q", b.Agent.Transcript)
	}
	l, diags := b.Launch(Session{ID: "3f2c", Identity: "demo-k3x9a"})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if got := l.Env["DEMO_REQUEST"]; got.Value != "" || !got.Known {
		t.Errorf("DEMO_REQUEST = %+v, want empty: the quick start runs to completion", got)
	}
	if got := l.Env["DEMO_IDENTITY"]; got.Value != "demo-k3x9a" {
		t.Errorf("DEMO_IDENTITY = %+v", got)
	}

	// --var request_tool=true turns on the capability request.
	cfg, diags = Load(filepath.Join("..", "examples", "demo"), Options{Env: noEnv, Vars: map[string]string{"request_tool": "true"}})
	if diags.HasErrors() {
		t.Fatal(renderDiags(t, cfg, diags))
	}
	l, _ = cfg.Bottle("demo").Launch(Session{})
	if got := l.Env["DEMO_REQUEST"]; got.Value != "1" {
		t.Errorf("with request_tool=true, DEMO_REQUEST = %+v", got)
	}
}
