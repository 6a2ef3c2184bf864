package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// writeConfig writes a bottle.hcl (plus extra files) into a temp folder and
// returns the folder.
func writeConfig(t *testing.T, src string, extra map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{FileName: src}
	for k, v := range extra {
		files[k] = v
	}
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func envMap(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

func variable(cfg *Config, name string) *Variable {
	for _, v := range cfg.Variables {
		if v.Name == name {
			return v
		}
	}
	return nil
}

const precedenceSrc = `
variable "a" { default = "default" }
variable "b" { default = "default" }
variable "c" { default = "default" }
variable "d" { default = "default" }
variable "e" { default = "default" }
`

// TestVariablePrecedence: default < BOTTLE_VAR_<name> < --var-file (later
// files win) < --var.
func TestVariablePrecedence(t *testing.T) {
	dir := writeConfig(t, precedenceSrc, map[string]string{
		"one.vars": "c = \"file1\"\nd = \"file1\"\ne = \"file1\"\n",
		"two.vars": "d = \"file2\"\ne = \"file2\"\n",
	})
	cfg, diags := Load(dir, Options{
		Env:      envMap(map[string]string{"BOTTLE_VAR_b": "env", "BOTTLE_VAR_c": "env", "BOTTLE_VAR_d": "env", "BOTTLE_VAR_e": "env"}),
		VarFiles: []string{filepath.Join(dir, "one.vars"), filepath.Join(dir, "two.vars")},
		Vars:     map[string]string{"e": "flag"},
	})
	if len(diags) > 0 {
		t.Fatal(renderDiags(t, cfg, diags))
	}
	for _, tt := range []struct {
		name, value string
		source      VarSource
	}{
		{"a", "default", SourceDefault},
		{"b", "env", SourceEnv},
		{"c", "file1", SourceVarFile},
		{"d", "file2", SourceVarFile},
		{"e", "flag", SourceFlag},
	} {
		v := variable(cfg, tt.name)
		if v == nil || v.Value.AsString() != tt.value || v.Source != tt.source {
			t.Errorf("var.%s = %+v, want %q from %s", tt.name, v, tt.value, tt.source)
		}
	}
	for _, f := range []string{"one.vars", "two.vars"} {
		if !containsString(cfg.Files, filepath.Join(dir, f)) {
			t.Errorf("Files = %v, want %s in it", cfg.Files, f)
		}
	}
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestVariableParsing: raw strings stay strings for untyped and primitive
// variables and are HCL expressions for the others.
func TestVariableParsing(t *testing.T) {
	dir := writeConfig(t, `
variable "untyped" {}
variable "str" { type = string }
variable "num" { type = number }
variable "flag" { type = bool }
variable "list" { type = list(string) }
variable "obj" {
  type = object({ name = string, size = optional(number, 1) })
}
variable "fromenv" { type = map(string) }
`, nil)
	cfg, diags := Load(dir, Options{
		Env: envMap(map[string]string{"BOTTLE_VAR_fromenv": `{ a = "b" }`}),
		Vars: map[string]string{
			"untyped": `["not", "a", "list"]`, "str": "[1]", "num": "42", "flag": "true",
			"list": `["x", "y"]`, "obj": `{ name = "n" }`,
		},
	})
	if len(diags) > 0 {
		t.Fatal(renderDiags(t, cfg, diags))
	}
	want := map[string]cty.Value{
		"untyped": cty.StringVal(`["not", "a", "list"]`),
		"str":     cty.StringVal("[1]"),
		"num":     cty.NumberIntVal(42),
		"flag":    cty.True,
		"list":    cty.ListVal([]cty.Value{cty.StringVal("x"), cty.StringVal("y")}),
		"obj":     cty.ObjectVal(map[string]cty.Value{"name": cty.StringVal("n"), "size": cty.NumberIntVal(1)}),
		"fromenv": cty.MapVal(map[string]cty.Value{"a": cty.StringVal("b")}),
	}
	for name, w := range want {
		if v := variable(cfg, name); v == nil || !v.Value.RawEquals(w) {
			t.Errorf("var.%s = %#v, want %#v", name, v.Value, w)
		}
	}
}

// TestVariableErrors covers the mistakes that have no line in a fixture:
// they come from the command line or a var file.
func TestVariableErrors(t *testing.T) {
	dir := writeConfig(t, `
variable "num" { type = number }
variable "list" {
  type    = list(string)
  default = []
}
`, map[string]string{"bad.vars": "num = \"x\"\nother = 1\n", "shared.vars": "# shared\nother = 1\n"})
	tests := []struct {
		name string
		opts Options
		want []string // summaries, in order
	}{
		{"missing", Options{}, []string{"No value for required variable"}},
		{"not a number", Options{Vars: map[string]string{"num": "many"}}, []string{"Invalid value for variable"}},
		{"bad expression", Options{Vars: map[string]string{"num": "1", "list": "[1,"}}, []string{"Missing expression"}},
		{"reference", Options{Vars: map[string]string{"num": "1", "list": "[var.x]"}}, []string{"Variables not allowed"}},
		{"undeclared", Options{Vars: map[string]string{"num": "1", "nmu": "2"}}, []string{"Value for undeclared variable"}},
		{"env", Options{Env: envMap(map[string]string{"BOTTLE_VAR_num": "x"})}, []string{"Invalid value for variable"}},
		{"var file", Options{VarFiles: []string{filepath.Join(dir, "bad.vars")}}, []string{"Invalid value for variable", "Value for undeclared variable"}},
		{"missing var file", Options{Vars: map[string]string{"num": "1"}, VarFiles: []string{filepath.Join(dir, "nope.vars")}}, []string{"Cannot read variables file"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.opts.Env == nil {
				tt.opts.Env = noEnv
			}
			_, diags := Load(dir, tt.opts)
			var got []string
			for _, d := range diags {
				got = append(got, d.Summary)
			}
			if strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Errorf("diagnostics = %q, want %q", got, tt.want)
			}
		})
	}
	// An undeclared name in a var file is only a warning: var files are
	// often shared between configurations.
	_, diags := Load(dir, Options{Env: noEnv, Vars: map[string]string{"num": "1"}, VarFiles: []string{filepath.Join(dir, "shared.vars")}})
	if len(diags) != 1 || diags[0].Severity != hcl.DiagWarning || diags[0].Subject == nil || diags[0].Subject.Start.Line != 2 {
		t.Errorf("var file warning = %v", diags)
	}
}

// TestSensitiveVariables: a sensitive variable, and everything computed from
// it (locals, templates, interpolations), comes out of Launch as Sensitive;
// its neighbours do not.
func TestSensitiveVariables(t *testing.T) {
	dir := writeConfig(t, `
variable "key" {
  sensitive = true
}
locals {
  header = "Bearer ${var.key}"
}
agent "a" {
  image   = "busybox"
  command = ["curl", "-H", local.header, "https://example.com"]
  env = {
    PLAIN    = "x"
    DERIVED  = local.header
    TEMPLATE = templatefile("t.tmpl", { key = var.key })
    FROM_ENV = "${env("HOME_TOKEN")}/suffix"
    HASHED   = sha256(var.key)
  }
}
bottle "b" {
  agent = agent.a
}
`, map[string]string{"t.tmpl": "key=${key}"})
	cfg, diags := Load(dir, Options{Env: envMap(map[string]string{"HOME_TOKEN": "tok"}), Vars: map[string]string{"key": "k3y"}})
	if len(diags) > 0 {
		t.Fatal(renderDiags(t, cfg, diags))
	}
	if v := variable(cfg, "key"); !v.Sensitive || v.Value.IsMarked() {
		t.Errorf("var.key = %+v: want Sensitive and an unmarked Value", v)
	}
	l, diags := cfg.Bottle("b").Launch(Session{ID: "x", Identity: "y"})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	wantCmd := []bool{false, false, true, false}
	for i, v := range l.Command {
		if v.Sensitive != wantCmd[i] {
			t.Errorf("command[%d] = %+v, want Sensitive=%v", i, v, wantCmd[i])
		}
	}
	if l.Command[2].Value != "Bearer k3y" {
		t.Errorf("command[2] = %q", l.Command[2].Value)
	}
	for name, want := range map[string]bool{"PLAIN": false, "DERIVED": true, "TEMPLATE": true, "FROM_ENV": true, "HASHED": true} {
		if got := l.Env[name]; got.Sensitive != want || !got.Known {
			t.Errorf("env %s = %+v, want Sensitive=%v", name, got, want)
		}
	}
	if got := l.Env["TEMPLATE"].Value; got != "key=k3y" {
		t.Errorf("TEMPLATE = %q", got)
	}
}
