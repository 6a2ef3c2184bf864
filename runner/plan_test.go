package runner_test

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bottle-dev/bottle/backend"
	"github.com/bottle-dev/bottle/backend/buildctx"
	"github.com/bottle-dev/bottle/runner"
)

const planHCL = `
variable "token" {
  sensitive = true
  default   = "t0ken"
}

agent "built" {
  dockerfile     = "agents/a.Dockerfile"
  context        = "."
  command        = ["run", "--session", session.id]
  resume_command = ["resume", session.id]
  transcript     = "/home/agent/.t"
  user           = "1000"
  env = {
    TOKEN    = var.token
    API_KEY  = env("API_KEY")
    SESSION  = session.id
    IDENTITY = "id-${session.identity}"
    PLAIN    = "p"
  }
}

agent "img" {
  image = "busybox:latest"
}

bottle "b" {
  agent   = agent.built
  backend = "smolmachines"
  network = false
  cwd {
    copy    = true
    exclude = ["node_modules"]
  }
  resources {
    cpus   = 1.5
    memory = "1GiB"
  }
}

bottle "c" {
  agent = agent.img
  cwd {}
}
`

func TestPlanConfig(t *testing.T) {
	e := newEnv(t, planHCL)
	e.vars["API_KEY"] = "secret-key"
	df := filepath.Join(e.dir, "agents/a.Dockerfile")
	writeFile(t, df, "FROM busybox:latest\nCOPY . /src\n")
	writeFile(t, filepath.Join(e.dir, "src.txt"), "v1\n")
	e.stateOf("b-aaaaa", true, true)
	e.stateOf("b-bbbbb", true, false)
	e.stateOf("b-ccccc", false, true)
	other := e.stateOf("b-ddddd", true, true)
	md, _ := other.ReadMetadata()
	md.ConfigPath = filepath.Join(t.TempDir(), "bottle.hcl")
	if err := other.WriteMetadata(md); err != nil {
		t.Fatal(err)
	}

	p, err := e.r.PlanConfig(e.load(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if p.FormatVersion != runner.PlanFormatVersion || p.Config != e.cfg || len(p.Bottles) != 2 {
		t.Fatalf("plan %+v", p)
	}
	b, c := p.Bottles[0], p.Bottles[1]
	hash, err := buildctx.Hash(df, e.dir)
	if err != nil {
		t.Fatal(err)
	}
	hash = buildctx.Keyed(hash, map[string]string{backend.LabelHome: e.r.Home.ID(), backend.LabelHomePath: e.r.Home.Path, backend.LabelDockerfile: df})
	wantImage := runner.ImagePlan{Action: runner.ImageBuild, Dockerfile: df, Context: e.dir, Hash: hash, Tag: buildctx.Tag(hash)}
	if b.Image != wantImage {
		t.Errorf("image plan %+v, want %+v", b.Image, wantImage)
	}
	if b.Name != "b" || b.Action != "create" || b.Backend != "smolmachines" || b.BackendSource != "bottle.hcl" ||
		b.Identity != "b-????? "+runner.Unknown || b.Container != "bottle-b-?????" ||
		b.StateDir != filepath.Join(e.home.StateRoot(), "b-?????") || b.Network != "none (network = false)" ||
		b.CPUs != 1.5 || b.MemoryBytes != 1<<30 || b.User != "1000" || b.Transcript != "/home/agent/.t" {
		t.Errorf("bottle plan %+v", b)
	}
	if b.Cwd == nil || b.Cwd.Path != e.dir || b.Cwd.Mode != "copy" || b.Cwd.Target != "/workspace" ||
		!slices.Equal(b.Cwd.Exclude, []string{"node_modules"}) {
		t.Errorf("cwd plan %+v", b.Cwd)
	}
	env := map[string]string{}
	var names []string
	for _, ev := range b.Env {
		env[ev.Name] = ev.Value
		names = append(names, ev.Name)
	}
	wantEnv := map[string]string{
		"TOKEN": "(sensitive)", "API_KEY": "(sensitive)", "SESSION": runner.Unknown, "IDENTITY": runner.Unknown, "PLAIN": "p",
		"BOTTLE_IDENTITY": runner.Unknown, "BOTTLE_SESSION_ID": runner.Unknown, "BOTTLE_QUEUE": runner.GuestQueue,
	}
	if len(env) != len(wantEnv) || !slices.IsSorted(names) {
		t.Errorf("env plan %q, want the %d of %v, sorted", names, len(wantEnv), wantEnv)
	}
	for k, v := range wantEnv {
		if env[k] != v {
			t.Errorf("env %s = %q, want %q", k, env[k], v)
		}
	}
	if !slices.Equal(b.Command, []string{"run", "--session", runner.Unknown}) || !slices.Equal(b.ResumeCommand, []string{"resume", runner.Unknown}) {
		t.Errorf("commands %q, %q", b.Command, b.ResumeCommand)
	}
	if strings.Contains(strings.Join(b.Command, " ")+strings.Join(names, " "), "t0ken") {
		t.Error("the plan shows a sensitive value")
	}

	if c.Image != (runner.ImagePlan{Action: runner.ImageUse, Ref: baseImage}) || c.Cwd.Mode != "mount" ||
		c.Backend != "docker" || c.BackendSource != "default" || c.Network != "bottle-c-????? (outbound)" {
		t.Errorf("image bottle plan %+v", c)
	}

	// Resumable: the preserved bottles of this config, with their
	// per-bottle Dockerfile when there is one.
	want := []runner.ResumablePlan{
		{Identity: "b-aaaaa", Bottle: "b", Backend: "docker", Dockerfile: e.stateDir("b-aaaaa").DockerfilePath(), Reason: "capability-block Dockerfile present"},
		{Identity: "b-bbbbb", Bottle: "b", Backend: "docker", Reason: "preserved"},
	}
	if !slices.Equal(p.Resumable, want) {
		t.Errorf("resumable %+v, want %+v", p.Resumable, want)
	}
	if len(e.docker.Calls())+len(e.smol.Calls()) != 0 {
		t.Error("a plan contacted an engine")
	}

	// The hash follows the build context's content.
	writeFile(t, filepath.Join(e.dir, "src.txt"), "v2\n")
	p2, err := e.r.PlanConfig(e.load(), []string{"b"})
	if err != nil || len(p2.Bottles) != 1 || p2.Bottles[0].Image.Hash == hash {
		t.Errorf("plan after a context change: %+v, %v", p2, err)
	}
}

func TestPlanSelect(t *testing.T) {
	e := newEnv(t, planHCL)
	writeFile(t, filepath.Join(e.dir, "agents/a.Dockerfile"), "FROM busybox:latest\n")
	e.vars["BOTTLE_BACKEND"] = "smolmachines"
	p, err := e.r.PlanConfig(e.load(), []string{"c"})
	if err != nil || len(p.Bottles) != 1 || p.Bottles[0].Backend != "smolmachines" || p.Bottles[0].BackendSource != "BOTTLE_BACKEND" {
		t.Fatalf("plan of c under BOTTLE_BACKEND: %+v, %v", p, err)
	}
	// The network is said in the backend's terms, not docker's.
	if got := p.Bottles[0].Network; got != "smolvm --net (every outbound address)" {
		t.Errorf("smolmachines network plan %q", got)
	}
	if _, err := e.r.PlanConfig(e.load(), []string{"nope"}); err == nil || !strings.Contains(err.Error(), "[b c]") {
		t.Errorf("plan of an unknown bottle = %v; want the declared ones listed", err)
	}
}
