package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// The smolmachines backend cannot run here (no smolvm, no KVM), so these
// tests put the faithful fake smolvm CLI (backend/smolvm/fakesmolvm, which
// runs each machine as a Docker container) on BOTTLE_SMOLVM.

var (
	fakeOnce sync.Once
	fakePath string
	fakeErr  error
)

func fakeSmolvm(t *testing.T) string {
	t.Helper()
	fakeOnce.Do(func() {
		dir, err := os.MkdirTemp("", "bottle-fakesmolvm-")
		if err != nil {
			fakeErr = err
			return
		}
		fakePath = filepath.Join(dir, "smolvm")
		out, err := exec.Command("go", "build", "-o", fakePath, "../../backend/smolvm/fakesmolvm").CombinedOutput()
		if err != nil {
			fakeErr = err
			t.Logf("%s", out)
		}
	})
	if fakeErr != nil {
		t.Fatalf("build the fake smolvm: %v", fakeErr)
	}
	return fakePath
}

// withSmolvm points the environment at the fake, with its state in a
// per-test dir, and sweeps the fake's containers afterwards.
func (e *e2e) withSmolvm() string {
	e.t.Helper()
	data := e.t.TempDir()
	e.env = append(e.env, "BOTTLE_SMOLVM="+fakeSmolvm(e.t), "SMOLVM_DATA_DIR="+data)
	e.t.Cleanup(func() {
		out, _ := exec.Command("docker", "ps", "-aq", "--filter", "label=dev.bottle.fakesmolvm.root="+data).Output()
		if ids := strings.Fields(string(out)); len(ids) > 0 {
			_ = exec.Command("docker", append([]string{"rm", "-f", "-v"}, ids...)...).Run()
		}
	})
	return data
}

// machines lists the fake's machines through its JSON output.
func (e *e2e) machines() []string {
	e.t.Helper()
	c := exec.Command(fakeSmolvm(e.t), "machine", "ls", "--json")
	c.Env = e.env
	out, err := c.Output()
	if err != nil {
		e.t.Fatalf("smolvm machine ls: %v", err)
	}
	var ms []struct{ Name string }
	if err := json.Unmarshal(out, &ms); err != nil {
		e.t.Fatalf("smolvm machine ls --json: %v\n%s", err, out)
	}
	var names []string
	for _, m := range ms {
		names = append(names, m.Name)
	}
	return names
}

func (e *e2e) demo() {
	e.t.Helper()
	demo, err := filepath.Abs("../../examples/demo")
	if err != nil {
		e.t.Fatal(err)
	}
	e.dir = demo
}

func TestSmolmachinesDemoFullSession(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	e.withSmolvm()
	e.demo()
	e.env = append(e.env, "BOTTLE_BACKEND=smolmachines")
	p := e.mustRun("plan")
	contains(t, "plan", p.stdout, "smolmachines (from BOTTLE_BACKEND)")
	r := e.mustRun("apply", "--auto-approve")
	contains(t, "stdout", r.stdout, "demo-agent: done", "README.txt begins")
	if dirs := e.stateDirs(); len(dirs) != 0 {
		t.Errorf("state dirs left: %v", dirs)
	}
	if ms := e.machines(); len(ms) != 0 {
		t.Errorf("machines left: %v", ms)
	}
}

// TestSmolmachinesCapabilityLoop: request, approve, preserved teardown, and
// a watch started without BOTTLE_BACKEND resumes the bottle on smolmachines
// (from its metadata) with its transcript.
func TestSmolmachinesCapabilityLoop(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	e.withSmolvm()
	e.demo()
	wout, _ := e.startWatch()
	e.env = append(e.env, "BOTTLE_BACKEND=smolmachines")
	id, wait := e.applyInBackground("--var", "request_tool=true")
	e.mustRun("approve", id, e.waitRequest(id).ID)
	// A watch runs, so the session says the watch resumes it rather than
	// asking the operator to.
	if r := wait(); r.code != 0 || !strings.Contains(r.stdout, "The running bottle watch is rebuilding and resuming it") {
		t.Fatalf("apply: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	e.waitFor("the resumed agent to finish", 3*time.Minute, func() bool {
		return strings.Contains(wout.String(), id+" | demo-agent: done")
	})
	contains(t, "watch output", wout.String(), "started session", id+" | demo-agent: newtool says: newtool works")
	e.waitGone(id)
	if ms := e.machines(); len(ms) != 0 {
		t.Errorf("machines left: %v", ms)
	}
	// The per-bottle images built in Docker for the machine go with it.
	if left := e.leftovers(id); len(left) != 0 {
		t.Errorf("left in the Docker engine: %v", left)
	}
}

// TestWatchResumesEachOnItsOwnBackend: a preserved docker bottle and a
// preserved smolmachines bottle side by side; one watch resumes each on the
// backend its metadata records.
func TestWatchResumesEachOnItsOwnBackend(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	e.withSmolvm()
	e.demo()
	base := e.env
	preserve := func(backendName string) string {
		e.env = append(append([]string{}, base...), "BOTTLE_BACKEND="+backendName)
		id, wait := e.applyInBackground("--var", "request_tool=true")
		e.mustRun("approve", id, e.waitRequest(id).ID)
		if r := wait(); r.code != 0 {
			t.Fatalf("apply on %s: exit %d\n%s", backendName, r.code, r.stderr)
		}
		return id
	}
	onDocker := preserve("docker")
	onSmol := preserve("smolmachines")
	e.env = base
	_, werr := e.startWatch()
	for id, be := range map[string]string{onDocker: "docker", onSmol: "smolmachines"} {
		e.waitFor(id+" to resume on "+be, 3*time.Minute, func() bool {
			return strings.Contains(werr.String(), id+": resuming on the "+be+" backend")
		})
	}
	e.waitGone(onDocker)
	e.waitGone(onSmol)
}
