package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestUnsetVariables: what a variable without a value does in each mode.
// validate (UnsetUnknown) checks everything else and reports nothing about
// it; plan (UnsetLaunch) reports it only where loading needs the value;
// apply (UnsetError) reports it on the variable.
func TestUnsetVariables(t *testing.T) {
	dir := writeConfig(t, `
variable "img" {}
variable "model" {
  type      = string
  sensitive = true
}
variable "mem" {}

locals {
  flags = ["--model", var.model]
}

agent "a" {
  image   = var.img
  command = concat(["run"], local.flags)
}

agent "b" {
  image = "busybox"
}

bottle "one" {
  agent = agent.a
  resources {
    memory = var.mem
  }
}

bottle "two" {
  agent = agent.b
  env = {
    MODEL = var.model
  }
}
`, nil)
	summaries := func(opts Options) string {
		opts.Env = noEnv
		_, diags := Load(dir, opts)
		var got []string
		for _, d := range diags {
			got = append(got, d.Summary+" @"+strings.TrimSpace(string(d.Subject.SliceBytes(mustRead(t, dir)))))
		}
		return strings.Join(got, "\n")
	}
	if got := summaries(Options{Unset: UnsetUnknown}); got != "" {
		t.Errorf("validate mode: %s", got)
	}
	want := "No value for required variable @var.img\nNo value for required variable @var.mem"
	if got := summaries(Options{Unset: UnsetLaunch}); got != want {
		t.Errorf("plan mode:\n%s\nwant\n%s", got, want)
	}
	want = "No value for required variable @\"img\"\nNo value for required variable @\"mem\"\nNo value for required variable @\"model\""
	if got := summaries(Options{}); got != want {
		t.Errorf("apply mode:\n%s\nwant\n%s", got, want)
	}

	// In plan mode what only the launch reads is unknown: "(known after
	// launch)", and a sensitive one stays hidden.
	cfg, diags := Load(dir, Options{Env: noEnv, Unset: UnsetLaunch, Vars: map[string]string{"img": "busybox", "mem": "1GiB"}})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	l, diags := cfg.Bottle("one").Launch(Session{})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if len(l.Command) != 3 || l.Command[1].Value != "--model" || l.Command[2].Known || !l.Command[2].Sensitive {
		t.Errorf("command = %+v, want run --model and an unknown sensitive value", l.Command)
	}
	l, _ = cfg.Bottle("two").Launch(Session{})
	if v := l.Env["MODEL"]; v.Known || v.String() != "(sensitive)" {
		t.Errorf("env MODEL = %+v", v)
	}

	// An unknown image still counts as set: no "Missing agent image", nor
	// a conflict unless dockerfile is set too.
	dir2 := writeConfig(t, `
variable "img" {}
agent "a" {
  image      = var.img
  dockerfile = "Dockerfile"
}
`, map[string]string{"Dockerfile": "FROM busybox\n"})
	_, diags = Load(dir2, Options{Env: noEnv, Unset: UnsetUnknown})
	if len(diags) != 1 || diags[0].Summary != "Conflicting image and dockerfile" {
		t.Errorf("unknown image beside dockerfile: %v", diags)
	}
}

func mustRead(t *testing.T, dir string) []byte {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	return src
}
