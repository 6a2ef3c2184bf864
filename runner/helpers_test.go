package runner_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/bottle-dev/bottle/backend"
	"github.com/bottle-dev/bottle/backend/fake"
	"github.com/bottle-dev/bottle/config"
	"github.com/bottle-dev/bottle/runner"
	"github.com/bottle-dev/bottle/runner/state"
)

// baseImage is the image agent of the test configs.
const baseImage = "busybox:latest"

// transcriptDir is the test agent's transcript folder.
const transcriptDir = "/home/agent/.t"

// basicHCL is a bottle with an image agent, a transcript and a mounted cwd.
const basicHCL = `
agent "a" {
  image          = "busybox:latest"
  command        = ["run", session.id]
  resume_command = ["resume", session.id]
  transcript     = "/home/agent/.t"
  env = {
    FOO = "bar"
  }
}

bottle "b" {
  agent   = agent.a
  backend = "docker"
  cwd {}
}
`

// env is one test's world: a project folder with a bottle.hcl, a
// BOTTLE_HOME, one fake per backend name and a runner over them.
type env struct {
	t      *testing.T
	dir    string
	cfg    string
	home   state.Home
	docker *fake.Backend
	smol   *fake.Backend
	r      *runner.Runner
	events *events
	// vars are what the config's env() sees.
	vars map[string]string
}

func newEnv(t *testing.T, hcl string) *env {
	t.Helper()
	e := &env{t: t, dir: t.TempDir(), home: state.Home{Path: t.TempDir()}, events: &events{}, vars: map[string]string{}}
	e.cfg = filepath.Join(e.dir, "bottle.hcl")
	writeFile(t, e.cfg, hcl)
	e.docker, e.smol = fake.New(), fake.New()
	e.docker.SetName(backend.Docker)
	e.smol.SetName(backend.Smolmachines)
	e.r = &runner.Runner{Home: e.home, Observer: e.events, Backend: func(name string) (backend.Backend, error) {
		switch name {
		case backend.Docker:
			return e.docker, nil
		case backend.Smolmachines:
			return e.smol, nil
		}
		return nil, fmt.Errorf("no backend %q", name)
	}}
	return e
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	// Temp file and rename, as agents must write requests: a scan racing a
	// plain write could read half a request and reject it.
	if err := state.WriteFileAtomic(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func (e *env) load() *config.Config {
	e.t.Helper()
	cfg, diags := config.Load(e.cfg, config.Options{Env: func(k string) (string, bool) {
		v, ok := e.vars[k]
		return v, ok
	}})
	if diags.HasErrors() {
		e.t.Fatalf("load %s: %v", e.cfg, diags)
	}
	return cfg
}

// launchOpts are the options of an attached apply of bottle name.
func (e *env) launchOpts(name string) runner.LaunchOptions {
	cfg := e.load()
	b := cfg.Bottle(name)
	if b == nil {
		e.t.Fatalf("no bottle %q", name)
	}
	return runner.LaunchOptions{Config: cfg, Bottle: b}
}

type result struct {
	res *runner.LaunchResult
	err error
}

// async runs a launch in the background; the result arrives on the
// channel. The test waits for it before it ends.
func (e *env) async(launch func(ctx context.Context) (*runner.LaunchResult, error)) <-chan result {
	ch := make(chan result, 1)
	var wg sync.WaitGroup
	wg.Add(1)
	e.t.Cleanup(wg.Wait)
	go func() {
		defer wg.Done()
		res, err := launch(e.t.Context())
		ch <- result{res, err}
	}()
	return ch
}

// applyAsync runs an attached apply of bottle name in the background.
func (e *env) applyAsync(name string) <-chan result {
	opts := e.launchOpts(name)
	return e.async(func(ctx context.Context) (*runner.LaunchResult, error) { return e.r.Apply(ctx, opts) })
}

func (e *env) resumeAsync(identity string) <-chan result {
	return e.async(func(ctx context.Context) (*runner.LaunchResult, error) {
		return e.r.Resume(ctx, identity, runner.ResumeOptions{})
	})
}

// wait returns a background launch's result.
func wait(t *testing.T, ch <-chan result) result {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(20 * time.Second):
		t.Fatal("the launch did not end within 20s")
	}
	return result{}
}

// waitFor polls cond until it holds, failing the test after a deadline.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		select {
		case <-t.Context().Done():
			t.Fatalf("waiting for %s: %v", what, t.Context().Err())
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// running waits until be runs an instance of identity (the latest one)
// and returns it.
func running(t *testing.T, be *fake.Backend, identity string) *fake.Instance {
	t.Helper()
	var in *fake.Instance
	waitFor(t, identity+" running", func() bool {
		in = be.Instance(identity)
		return in != nil && in.State() == backend.StateRunning
	})
	return in
}

// onlyIdentity waits until the home has exactly one state dir.
func (e *env) onlyIdentity() string {
	e.t.Helper()
	var ids []string
	waitFor(e.t, "one state dir", func() bool {
		ids, _, _ = e.home.Identities()
		return len(ids) == 1
	})
	return ids[0]
}

func (e *env) stateDir(identity string) *state.Dir {
	e.t.Helper()
	d, err := e.home.Dir(identity)
	if err != nil {
		e.t.Fatal(err)
	}
	return d
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// creates counts the Create calls for identity on be.
func creates(be *fake.Backend, identity string) int {
	return len(slices.DeleteFunc(be.Calls(fake.OpCreate), func(c fake.Call) bool { return c.Spec.Identity != identity }))
}

// liveInstances lists the identities be runs or holds.
func liveInstances(t *testing.T, be *fake.Backend) []string {
	t.Helper()
	list, err := be.List(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, in := range list {
		out = append(out, in.Identity)
	}
	return out
}

// stateOf makes a state dir for identity by hand, as a launch of bottle b
// from the env's config would have left it: with metadata, and optionally
// the preserve marker and a per-bottle Dockerfile.
func (e *env) stateOf(identity string, preserved, dockerfile bool) *state.Dir {
	e.t.Helper()
	d, err := e.home.Create(identity)
	if err != nil {
		e.t.Fatal(err)
	}
	md := &state.Metadata{Bottle: "b", Agent: "a", ConfigPath: e.cfg, Backend: backend.Docker, Image: baseImage, SessionID: "s-1", Launches: 1}
	if err := d.WriteMetadata(md); err != nil {
		e.t.Fatal(err)
	}
	if preserved {
		if err := d.MarkPreserved(); err != nil {
			e.t.Fatal(err)
		}
	}
	if dockerfile {
		if err := d.WriteDockerfile([]byte("FROM " + baseImage + "\nRUN true\n")); err != nil {
			e.t.Fatal(err)
		}
	}
	return d
}
