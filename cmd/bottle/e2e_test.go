package main

import (
	"context"
	"errors"
	"github.com/bottle-dev/bottle/backend/backendtest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/bottle-dev/bottle/backend"
	"github.com/bottle-dev/bottle/backend/docker"
)

// The end-to-end tests drive the real bottle binary (this test binary, via
// testscript.Main) against the real Docker engine. They run when
// BOTTLE_DOCKER_TESTS=1 (scripts/test sets it); then an engine that does not
// answer is a failure, not a skip.

type e2e struct {
	t    *testing.T
	home string
	dir  string
	be   *docker.Backend
	env  []string
	// dump shows the output of the last bottle started in the background.
	dump func() string
	// watchOutput shows what the test's bottle watch printed, if it runs.
	watchOutput func() string
}

func newE2E(t *testing.T) *e2e {
	t.Helper()
	if os.Getenv("BOTTLE_DOCKER_TESTS") != "1" {
		t.Skip("set BOTTLE_DOCKER_TESTS=1 to run the tests on a real Docker engine (scripts/test does)")
	}
	be, err := docker.New(t.Context())
	if err != nil {
		t.Fatalf("docker client: %v", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	if err := be.Ping(ctx); err != nil {
		t.Fatalf("BOTTLE_DOCKER_TESTS=1 but the Docker engine does not answer: %v (scripts/docker-up starts one)", err)
	}
	e := &e2e{t: t, home: t.TempDir(), dir: t.TempDir(), be: be}
	e.env = append(os.Environ(), "BOTTLE_HOME="+e.home, "NO_COLOR=1")
	t.Cleanup(e.sweep)
	return e
}

// sweep removes whatever a failed test left behind.
func (e *e2e) sweep() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	entries, _ := os.ReadDir(filepath.Join(e.home, "state"))
	for _, en := range entries {
		_ = e.be.Remove(ctx, backend.InstanceName(en.Name()))
	}
	// The bottle-cwd images of the test's home: a cache that outlives
	// every bottle, of a home that is gone with the test.
	removeCwdImages(ctx, e.home)
}

func (e *e2e) write(name, content string) {
	e.t.Helper()
	p := filepath.Join(e.dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		e.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		e.t.Fatal(err)
	}
}

type result struct {
	stdout, stderr string
	code           int
}

func (e *e2e) cmd(ctx context.Context, args ...string) (*exec.Cmd, *syncBuffer, *syncBuffer) {
	c := exec.CommandContext(ctx, "bottle", append([]string{"--chdir", e.dir}, args...)...)
	c.Env = e.env
	var out, errb syncBuffer
	c.Stdout, c.Stderr = &out, &errb
	c.WaitDelay = 10 * time.Second
	return c, &out, &errb
}

func (e *e2e) run(args ...string) result {
	e.t.Helper()
	return e.runFor(3*time.Minute, args...)
}

// runFor is run with a deadline of its own, for commands that do a lot on a
// busy engine.
func (e *e2e) runFor(d time.Duration, args ...string) result {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(e.t.Context(), d)
	defer cancel()
	c, out, errb := e.cmd(ctx, args...)
	err := c.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		e.t.Fatalf("bottle %v: %v", args, err)
	}
	return result{out.String(), errb.String(), code}
}

func (e *e2e) mustRun(args ...string) result {
	e.t.Helper()
	r := e.run(args...)
	if r.code != 0 {
		e.t.Fatalf("bottle %v: exit %d\nstdout:\n%s\nstderr:\n%s", args, r.code, r.stdout, r.stderr)
	}
	return r
}

var identityRE = regexp.MustCompile(`([a-z0-9-]+-[a-z0-9]{5}): launching`)

func identities(stderr string) []string {
	var ids []string
	for _, m := range identityRE.FindAllStringSubmatch(stderr, -1) {
		ids = append(ids, m[1])
	}
	return ids
}

// stateDirs lists the state dirs under the test's BOTTLE_HOME.
func (e *e2e) stateDirs() []string {
	entries, _ := os.ReadDir(filepath.Join(e.home, "state"))
	var out []string
	for _, en := range entries {
		out = append(out, en.Name())
	}
	return out
}

// leftovers lists the engine resources labelled with identity.
func (e *e2e) leftovers(identity string) []string {
	e.t.Helper()
	ctx := e.t.Context()
	var out []string
	insts, err := e.be.List(ctx, map[string]string{backend.LabelIdentity: identity})
	if err != nil {
		e.t.Fatal(err)
	}
	for _, i := range insts {
		out = append(out, "instance "+i.Name)
	}
	res, err := e.be.Leftovers(ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, r := range res {
		if r.Identity == identity {
			out = append(out, r.Kind+" "+r.Name)
		}
	}
	return out
}

// waitFor polls cond until it holds or the deadline passes.
func (e *e2e) waitFor(what string, d time.Duration, cond func() bool) {
	e.t.Helper()
	e.waitForOr(what, d, cond, nil)
}

// waitForOr is waitFor that adds dump() to the failure, to show what the
// bottle printed.
func (e *e2e) waitForOr(what string, d time.Duration, cond func() bool, dump func() string) {
	e.t.Helper()
	deadline := time.Now().Add(d)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			more := ""
			if dump != nil {
				more = "\n" + dump()
			}
			if e.watchOutput != nil {
				more += "\n" + e.watchOutput()
			}
			e.t.Fatalf("timed out after %s waiting for %s%s", d, what, more)
		}
		select {
		case <-tick.C:
		case <-e.t.Context().Done():
			e.t.Fatalf("test ended waiting for %s", what)
		}
	}
}

type syncBuffer = backendtest.Buffer

func contains(t *testing.T, what, got string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(got, w) {
			t.Errorf("%s does not contain %q:\n%s", what, w, got)
		}
	}
}
