package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/bottle-dev/bottle/backend"
)

const busyboxAgent = `
agent "box" {
  image   = "busybox:latest"
  command = ["sh", "-c", var.script]
  resume_command = ["sh", "-c", var.resume]
  transcript = "/home/agent/t"
  env = {
    HOME = "/home/agent"
  }
}

variable "script" {
  default = "echo hello from $BOTTLE_IDENTITY"
}

variable "resume" {
  default = "echo resumed"
}

bottle "box" {
  agent = agent.box
}
`

func TestApplyDemoRunsToCompletion(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	demo, err := filepath.Abs("../../examples/demo")
	if err != nil {
		t.Fatal(err)
	}
	e.dir = demo
	r := e.mustRun("apply", "--auto-approve", "--var", "request_tool=false")
	contains(t, "stdout", r.stdout, "demo-agent: done", "README.txt begins")
	ids := identities(r.stderr)
	if len(ids) != 1 || !strings.HasPrefix(ids[0], "demo-") {
		t.Fatalf("want one demo identity in stderr, got %v:\n%s", ids, r.stderr)
	}
	if dirs := e.stateDirs(); len(dirs) != 0 {
		t.Errorf("state dirs left after a normal end: %v", dirs)
	}
	if left := e.leftovers(ids[0]); len(left) != 0 {
		t.Errorf("resources left after a normal end: %v", left)
	}
}

func TestApplyExitCodeIsTheAgents(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	e.write("bottle.hcl", busyboxAgent)
	r := e.run("apply", "--auto-approve", "--var", "script=echo out; echo err >&2; exit 7")
	if r.code != 7 {
		t.Fatalf("exit code %d, want 7\nstdout:%s\nstderr:%s", r.code, r.stdout, r.stderr)
	}
	contains(t, "stdout", r.stdout, "out")
	contains(t, "stderr", r.stderr, "err")
	if dirs := e.stateDirs(); len(dirs) != 0 {
		t.Errorf("state dirs left: %v", dirs)
	}
}

func TestApplyAsksUnlessAutoApprove(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	e.write("bottle.hcl", busyboxAgent)
	c, out, _ := e.cmd(t.Context(), "apply")
	c.Stdin = strings.NewReader("no\n")
	if err := c.Run(); err == nil {
		t.Fatal("apply answered 'no' succeeded")
	}
	contains(t, "stdout", out.String(), "will be launched", "Apply cancelled.")
	if dirs := e.stateDirs(); len(dirs) != 0 {
		t.Errorf("a cancelled apply left state: %v", dirs)
	}
}

func TestParallelAppliesGetDistinctIdentities(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	e.write("bottle.hcl", busyboxAgent)
	const n = 16
	results := make([]result, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			results[i] = e.run("apply", "--auto-approve", "--var", "script=sleep 1; echo I am $BOTTLE_IDENTITY")
		})
	}
	wg.Wait()
	seen := map[string]bool{}
	for i, r := range results {
		if r.code != 0 {
			t.Fatalf("apply %d: exit %d\n%s\n%s", i, r.code, r.stdout, r.stderr)
		}
		ids := identities(r.stderr)
		if len(ids) != 1 {
			t.Fatalf("apply %d: identities %v", i, ids)
		}
		if seen[ids[0]] {
			t.Fatalf("identity %s minted twice", ids[0])
		}
		seen[ids[0]] = true
		contains(t, "stdout", r.stdout, "I am "+ids[0])
	}
	for id := range seen {
		if left := e.leftovers(id); len(left) != 0 {
			t.Errorf("%s left %v", id, left)
		}
	}
	if dirs := e.stateDirs(); len(dirs) != 0 {
		t.Errorf("state dirs left: %v", dirs)
	}
}

// startRunning starts an attached apply of a long-running agent in the
// background and waits until its bottle runs; it returns the identity.
func (e *e2e) startRunning(script string) (string, func() (result, error), *os.Process) {
	e.t.Helper()
	c, out, errb := e.cmd(e.t.Context(), "apply", "--auto-approve", "--var", "script="+script)
	if err := c.Start(); err != nil {
		e.t.Fatal(err)
	}
	var id string
	e.waitFor("the bottle to launch", 2*time.Minute, func() bool {
		ids := identities(errb.String())
		if len(ids) == 0 {
			return false
		}
		id = ids[0]
		inst, err := e.be.Inspect(e.t.Context(), backend.InstanceName(id))
		return err == nil && inst.State == backend.StateRunning
	})
	wait := func() (result, error) {
		err := c.Wait()
		return result{out.String(), errb.String(), c.ProcessState.ExitCode()}, err
	}
	return id, wait, c.Process
}

func TestInterruptTearsTheBottleDown(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	e.write("bottle.hcl", busyboxAgent)
	id, wait, proc := e.startRunning("sleep 300")
	sent := time.Now()
	if err := proc.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	r, _ := wait()
	if r.code != 130 {
		t.Errorf("exit code %d after SIGINT, want 130\n%s", r.code, r.stderr)
	}
	contains(t, "stderr", r.stderr, "Interrupted, cleaning up")
	if left := e.leftovers(id); len(left) != 0 {
		t.Errorf("after SIGINT %s still has %v", id, left)
	}
	if took := time.Since(sent); took > 5*time.Second {
		t.Errorf("teardown took %s, want under 5s", took)
	}
	if dirs := e.stateDirs(); len(dirs) != 0 {
		t.Errorf("state dirs left: %v", dirs)
	}
}

func TestKillThenGCLeavesNothing(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	e.write("bottle.hcl", busyboxAgent)
	id, wait, proc := e.startRunning("sleep 300")
	if err := proc.Kill(); err != nil {
		t.Fatal(err)
	}
	_, _ = wait()
	if left := e.leftovers(id); len(left) == 0 {
		t.Fatal("kill -9 left nothing behind; the test proves nothing")
	}
	r := e.mustRun("gc")
	contains(t, "gc output", r.stdout, id)
	if left := e.leftovers(id); len(left) != 0 {
		t.Errorf("after gc %s still has %v", id, left)
	}
	if dirs := e.stateDirs(); len(dirs) != 0 {
		t.Errorf("after gc state dirs left: %v", dirs)
	}
}

func TestDetachedApplyThenStop(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	e.write("bottle.hcl", busyboxAgent)
	r := e.mustRun("apply", "--auto-approve", "--detach", "--var", "script=echo detached-out; sleep 300")
	ids := identities(r.stderr)
	if len(ids) != 1 {
		t.Fatalf("identities %v\n%s", ids, r.stderr)
	}
	id := ids[0]
	contains(t, "stdout", r.stdout, "bottle stop "+id)
	e.waitFor("detached output", 30*time.Second, func() bool {
		return strings.Contains(e.run("logs", id).stdout, "detached-out")
	})
	st := e.mustRun("status", "--json")
	var doc struct {
		FormatVersion string `json:"format_version"`
		Bottles       []struct {
			Identity, State, Backend string
		} `json:"bottles"`
	}
	if err := json.Unmarshal([]byte(st.stdout), &doc); err != nil {
		t.Fatalf("status --json: %v\n%s", err, st.stdout)
	}
	if doc.FormatVersion != "1" || len(doc.Bottles) != 1 || doc.Bottles[0].State != "running" || doc.Bottles[0].Backend != "docker" {
		t.Fatalf("status: %+v", doc)
	}
	if r := e.run("resume", id); r.code == 0 || !strings.Contains(r.stderr, "already running") {
		t.Errorf("resume of a running identity: exit %d, stderr %s", r.code, r.stderr)
	}
	e.mustRun("stop", id)
	if left := e.leftovers(id); len(left) != 0 {
		t.Errorf("after stop %s still has %v", id, left)
	}
	if dirs := e.stateDirs(); len(dirs) != 0 {
		t.Errorf("after stop state dirs left: %v", dirs)
	}
}

func TestBadInputsGiveClearErrors(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	e.write("bottle.hcl", busyboxAgent)
	for _, id := range []string{"../x", "", "UPPER-abcde", strings.Repeat("a", 60) + "-abcde"} {
		r := e.run("resume", id)
		if r.code != 1 || !strings.Contains(r.stderr, "invalid identity") {
			t.Errorf("resume %q: exit %d, stderr %q", id, r.code, r.stderr)
		}
	}
	r := e.run("resume", "nope-abcde")
	if r.code != 1 || !strings.Contains(r.stderr, "no state for nope-abcde") {
		t.Errorf("resume of a missing identity: exit %d, stderr %q", r.code, r.stderr)
	}
	bad := filepath.Join(e.home, "state", "bad-abcde")
	if err := os.MkdirAll(bad, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bad, "metadata.json"), []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	r = e.run("resume", "bad-abcde")
	if r.code != 1 || !strings.Contains(r.stderr, filepath.Join(bad, "metadata.json")) || !strings.Contains(r.stderr, "corrupt") {
		t.Errorf("resume with corrupt metadata: exit %d, stderr %q", r.code, r.stderr)
	}
	ls := e.mustRun("ls")
	contains(t, "ls", ls.stdout, "bad-abcde", "error")
	e.env = append(e.env, "DOCKER_HOST=unix:///nonexistent/docker.sock")
	r = e.run("apply", "--auto-approve")
	if r.code != 1 || !strings.Contains(strings.ToLower(r.stderr), "docker") {
		t.Errorf("apply with no engine: exit %d, stderr %q", r.code, r.stderr)
	}
}
