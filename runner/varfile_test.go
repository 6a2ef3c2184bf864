package runner_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bottle-dev/bottle/backend/fake"
	"github.com/bottle-dev/bottle/config"
	"github.com/bottle-dev/bottle/runner"
)

const varFileHCL = `
variable "task" {}
variable "tags" {}
variable "token" {
  sensitive = true
  default   = "fallback"
}

agent "a" {
  image          = "busybox:latest"
  command        = ["run", var.task, join(",", var.tags), var.token]
  resume_command = ["resume", var.task, join(",", var.tags), var.token]
}

bottle "b" {
  agent   = agent.a
  backend = "docker"
}
`

// --var-file values are recorded like --var ones and evaluated again on
// resume (a list stays a list), except sensitive ones: those are never
// written, and a resume takes the default (or BOTTLE_VAR_<name>).
func TestResumeKeepsVarFileValues(t *testing.T) {
	e := newEnv(t, varFileHCL)
	vf := filepath.Join(e.dir, "vars.hcl")
	writeFile(t, vf, "task  = \"from the file\"\ntags  = [\"x\", \"y\"]\ntoken = \"s3cret\"\n")
	cfg, diags := config.Load(e.cfg, config.Options{VarFiles: []string{vf}, Vars: map[string]string{"task": "from --var"}})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	e.docker.SetAgent(baseImage, blockingAgent())
	res, err := e.r.Apply(t.Context(), runner.LaunchOptions{Config: cfg, Bottle: cfg.Bottle("b"), Vars: map[string]string{"task": "from --var"}, Detach: true})
	if err != nil {
		t.Fatal(err)
	}
	id := res.Identity
	first := running(t, e.docker, id)
	if got := first.Spec().Command; !slices.Equal(got, []string{"run", "from --var", "x,y", "s3cret"}) {
		t.Fatalf("launched %q", got)
	}
	d := e.stateDir(id)
	raw, err := os.ReadFile(d.MetadataPath())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), "s3cret") {
		t.Errorf("metadata holds the sensitive value:\n%s", raw)
	}
	md, _ := d.ReadMetadata()
	if !strings.Contains(md.VarFile, "tags") || strings.Contains(md.VarFile, "task") {
		t.Errorf("recorded var file %q: want tags (from the file) and not task (set by --var)", md.VarFile)
	}

	// Approved by hand: preserved, a Dockerfile, the instance ended.
	if err := e.docker.Halt(t.Context(), first.ID()); err != nil {
		t.Fatal(err)
	}
	if err := d.MarkPreserved(); err != nil {
		t.Fatal(err)
	}
	if err := d.WriteDockerfile([]byte("FROM " + baseImage + "\nRUN true\n")); err != nil {
		t.Fatal(err)
	}
	e.docker.SetAgent("bottle/"+id, exitAgent(0))
	e.docker.SetAgent(baseImage, exitAgent(0))
	if _, err := e.r.Resume(t.Context(), id, runner.ResumeOptions{}); err != nil {
		t.Fatal(err)
	}
	var cmds [][]string
	for _, c := range e.docker.Calls(fake.OpCreate) {
		if c.Spec.Identity == id {
			cmds = append(cmds, c.Spec.Command)
		}
	}
	if len(cmds) != 2 || !slices.Equal(cmds[1], []string{"resume", "from --var", "x,y", "fallback"}) {
		t.Errorf("commands %q; want the resume with the recorded values and the sensitive default", cmds)
	}
}
