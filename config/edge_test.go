package config

import (
	"testing"

	"github.com/hashicorp/hcl/v2"
)

// TestEdgeCases loads inputs the fuzzer is unlikely to build, each with the
// summary of the first error it must give ("" for none). None may panic.
func TestEdgeCases(t *testing.T) {
	const agent = "agent \"a\" {\n  image = \"x\"\n}\n"
	for _, tt := range []struct {
		name, src, want string
	}{
		{"index reference", agent + `bottle "b" { agent = agent["a"] }`, ""},
		{"bare agent", agent + `bottle "b" { agent = agent }`, "Invalid agent reference"},
		{"agent attribute", agent + `bottle "b" { agent = agent.a.image }`, "Invalid agent reference"},
		{"agent in a list", agent + `bottle "b" { agent = [agent.a] }`, "Invalid agent reference"},
		{"not a regular file", `agent "a" { image = file("/dev/zero") }`, "Invalid function argument"},
		{"folder as file", `agent "a" { image = file("/") }`, "Invalid function argument"},
		{"bare session", `agent "a" {
  image   = "x"
  command = [session]
}`, "Invalid reference"},
		{"session index", agent + `agent "c" {
  image   = "x"
  command = [session["id"]]
}`, ""},
		{"env names from session", `agent "a" {
  image = "x"
  env   = { for k in [session.id] : k => "v" }
}`, "Env names not known"},
		{"env values from a for", `agent "a" {
  image = "x"
  env   = { for k, v in { A = session.id } : k => v }
}`, ""},
		{"secret env key", `agent "a" {
  image = "x"
  env   = { (env("HOME")) = "v" }
}`, "Invalid environment variable name"},
		{"command from a for", `agent "a" {
  image   = "x"
  command = [for i in range(3) : tostring(i)]
}`, ""},
		{"template recursion", `agent "a" {
  image = "x"
  user  = templatefile("/dev/null", {})
}`, "Invalid function argument"},
		{"self try", `locals {
  a = try(local.a, 1)
}`, "Cycle in local values"},
		{"bad json", `agent "a" { image = jsondecode("[") }`, "Error in function call"},
		{"huge cpus", agent + `bottle "b" {
  agent = agent.a
  resources { cpus = 1e400 }
}`, "Invalid CPU count"},
		{"smolmachines cpus over a byte", agent + `bottle "b" {
  agent   = agent.a
  backend = "smolmachines"
  resources { cpus = 256 }
}`, "Too many CPUs for smolmachines"},
		{"smolmachines cpus at the byte limit", agent + `bottle "b" {
  agent   = agent.a
  backend = "smolmachines"
  resources { cpus = 255 }
}`, ""},
		{"docker cpus over a byte", agent + `bottle "b" {
  agent = agent.a
  resources { cpus = 256 }
}`, ""},
		{"null cpus", agent + `bottle "b" {
  agent = agent.a
  resources {
    cpus   = null
    memory = null
  }
}`, ""},
		{"empty memory", agent + `bottle "b" {
  agent = agent.a
  resources { memory = "" }
}`, "Invalid memory size"},
		{"null command", `agent "a" {
  image   = "x"
  command = null
}`, ""},
		{"unknown function in a template", `agent "a" {
  image = "x"
  user  = "${nope()}"
}`, "Call to unknown function"},
		{"var object", `variable "v" { default = "x" }
agent "a" { image = var }`, "Invalid reference"},
		{"splat on session", `agent "a" {
  image   = "x"
  command = session[*].id
}`, "Invalid reference"},
		{"null image", `agent "a" { image = null }`, "Missing agent image"},
		{"null dockerfile next to an image", `agent "a" {
  image      = "x"
  dockerfile = null
}`, ""},
		{"null cwd path and backend", agent + `bottle "b" {
  agent   = agent.a
  backend = null
  cwd {
    path   = null
    target = null
  }
}`, ""},
		{"empty file", "", ""},
		{"only a comment", "# nothing\n", ""},
		{"bom", "\ufeffagent \"a\" {\n  image = \"x\"\n}\n", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeConfig(t, tt.src, nil)
			cfg, diags := Load(dir, Options{Env: noEnv})
			got := ""
			for _, d := range diags {
				if d.Severity == hcl.DiagError {
					got = d.Summary
					break
				}
			}
			if got != tt.want {
				t.Errorf("first error = %q, want %q; all:\n%s", got, tt.want, renderDiags(t, cfg, diags))
			}
			if !diags.HasErrors() {
				for _, b := range cfg.Bottles {
					b.Launch(Session{})
					b.Launch(Session{ID: "id", Identity: "b-12345"})
				}
			}
		})
	}
}
