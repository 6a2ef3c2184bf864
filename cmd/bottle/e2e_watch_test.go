package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// startWatch runs bottle watch in the background for the rest of the test.
func (e *e2e) startWatch() (*syncBuffer, *syncBuffer) {
	e.t.Helper()
	c, out, errb := e.cmd(e.t.Context(), "watch")
	if err := c.Start(); err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() {
		_ = c.Process.Signal(syscall.SIGINT)
		_ = c.Wait()
	})
	e.watchOutput = func() string {
		return "bottle watch stdout:\n" + out.String() + "\nbottle watch stderr:\n" + errb.String()
	}
	e.waitFor("the watch to start", 30*time.Second, func() bool {
		return strings.Contains(errb.String(), "Watching")
	})
	return out, errb
}

// applyInBackground starts an attached apply and returns its identity and a
// wait function.
func (e *e2e) applyInBackground(args ...string) (string, func() result) {
	e.t.Helper()
	c, out, errb := e.cmd(e.t.Context(), append([]string{"apply", "--auto-approve"}, args...)...)
	if err := c.Start(); err != nil {
		e.t.Fatal(err)
	}
	var id string
	e.waitFor("launch", 2*time.Minute, func() bool {
		if ids := identities(errb.String()); len(ids) > 0 {
			id = ids[0]
		}
		return id != ""
	})
	e.dump = func() string { return "apply stdout:\n" + out.String() + "\napply stderr:\n" + errb.String() }
	return id, func() result {
		_ = c.Wait()
		return result{out.String(), errb.String(), c.ProcessState.ExitCode()}
	}
}

func (e *e2e) waitGone(id string) {
	e.t.Helper()
	e.waitFor("the state dir of "+id+" to go", 2*time.Minute, func() bool {
		_, err := os.Lstat(filepath.Join(e.home, "state", id))
		return os.IsNotExist(err)
	})
}

// TestWatchResumesTheDemoAfterApproval is the capability-block loop end to
// end on the demo agent: request, approve, preserved teardown, watch resumes
// on the new image with the transcript, the agent uses the new tool.
func TestWatchResumesTheDemoAfterApproval(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	demo, err := filepath.Abs("../../examples/demo")
	if err != nil {
		t.Fatal(err)
	}
	e.dir = demo
	wout, werr := e.startWatch()
	id, wait := e.applyInBackground("--var", "request_tool=true")
	req := e.waitRequest(id)
	e.waitFor("the watch to report the request", 30*time.Second, func() bool {
		return strings.Contains(werr.String(), "bottle approve "+id+" "+req.ID)
	})
	e.mustRun("approve", id, req.ID)
	r := wait()
	if r.code != 0 {
		t.Fatalf("apply: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	contains(t, "apply stdout", r.stdout, "newtool is missing; asking for it")
	// With a watch running, apply says the watch resumes it and does not
	// hand the operator a command that would race it; the agent was
	// stopped for the rebuild, not a failure of its own.
	contains(t, "apply stdout", r.stdout, id+" was stopped for a capability approval; its state is kept.\nThe running bottle watch is rebuilding and resuming it")
	contains(t, "apply stderr", r.stderr, id+": agent stopped: a capability approval is rebuilding this bottle")
	for _, bad := range []string{"Resume it with", "exited with code 137"} {
		if strings.Contains(r.stdout+r.stderr, bad) {
			t.Errorf("apply printed %q:\n%s\n%s", bad, r.stdout, r.stderr)
		}
	}

	e.waitFor("the resumed agent to finish", 2*time.Minute, func() bool {
		return strings.Contains(wout.String(), id+" | demo-agent: done")
	})
	contains(t, "watch output", wout.String(),
		id+" | demo-agent: resumed session",
		"started session", // the earlier transcript, shown by the resumed agent
		id+" | demo-agent: newtool says: newtool works",
	)
	// The watch shows the per-bottle build's progress, as a resume by
	// hand does.
	contains(t, "watch stderr", werr.String(), id+": Step ", "/usr/local/bin/newtool")
	e.waitGone(id)
}

func TestDenyKeepsTheBottleRunning(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	e.write("bottle.hcl", busyboxAgent)
	id, wait := e.applyInBackground("--var", `script=/run/bottle/bottle-request --reason "want curl" --run "apk add curl" --wait || echo carrying-on; echo finished`)
	req := e.waitRequest(id)
	e.mustRun("deny", id, req.ID, "--reason", "no network tools")
	r := wait()
	if r.code != 0 {
		t.Fatalf("apply: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	contains(t, "agent output", r.stdout+r.stderr, "denied: no network tools", "carrying-on", "finished")
	if strings.Contains(r.stdout, "bottle resume") {
		t.Errorf("a denial preserved the bottle:\n%s", r.stdout)
	}
	if dirs := e.stateDirs(); len(dirs) != 0 {
		t.Errorf("state dirs left: %v", dirs)
	}
}

const twoLayerAgent = `
agent "box" {
  image = "busybox:latest"
  transcript = "/home/agent/t"
  command = ["sh", "-c", "mkdir -p /home/agent/t; echo first >> /home/agent/t/log; /run/bottle/bottle-request --reason one --run 'echo 1 > /etc/layer-one' --wait; sleep 300"]
  resume_command = ["sh", "-c", <<-EOT
    echo resumed >> /home/agent/t/log
    if [ ! -f /etc/layer-two ]; then
      echo "have layer one: $(cat /etc/layer-one)"
      /run/bottle/bottle-request --reason two --run 'echo 2 > /etc/layer-two' --wait
      sleep 300
    fi
    echo "both layers: $(cat /etc/layer-one) $(cat /etc/layer-two), transcript: $(cat /home/agent/t/log | tr '\n' ' ')"
  EOT
  ]
}

bottle "layers" {
  agent = agent.box
}
`

func TestSecondApprovalRunsTheLoopAgain(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	e.write("bottle.hcl", twoLayerAgent)
	wout, werr := e.startWatch()
	id, wait := e.applyInBackground()
	e.mustRun("approve", id, e.waitRequest(id).ID)
	r := wait()
	if r.code != 0 {
		t.Fatalf("apply: exit %d\n%s", r.code, r.stderr)
	}
	// The approval's kill (137) is reported as a stop for the rebuild, and
	// with a watch running apply says the watch resumes it rather than
	// handing over a command that would race it.
	contains(t, "apply stdout", r.stdout, id+" was stopped for a capability approval; its state is kept.\nThe running bottle watch is rebuilding and resuming it")
	contains(t, "apply stderr", r.stderr, id+": agent stopped: a capability approval is rebuilding this bottle")
	for _, bad := range []string{"Resume it with", "exited with code"} {
		if strings.Contains(r.stdout+r.stderr, bad) {
			t.Errorf("apply printed %q:\n%s\n%s", bad, r.stdout, r.stderr)
		}
	}
	e.waitFor("the first resume", 2*time.Minute, func() bool {
		return strings.Contains(wout.String(), id+" | have layer one: 1")
	})
	// The watch showed the per-bottle build, as a resume by hand does.
	contains(t, "watch stderr", werr.String(), id+": Step ", "RUN echo 1 > /etc/layer-one")
	e.mustRun("approve", id, e.waitRequest(id).ID)
	e.waitFor("the second resume", 2*time.Minute, func() bool {
		return strings.Contains(wout.String(), id+" | both layers: 1 2, transcript: first resumed resumed")
	})
	e.waitGone(id)
}

func TestHostileRequestsAreRejected(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	e.write("bottle.hcl", busyboxAgent)
	script := `q=/run/bottle/queue
head -c 70000 /dev/zero | tr '\0' a > $q/.t; printf '{"id":"big","kind":"capability","reason":"%s","dockerfile":["RUN x"]}' "$(cat $q/.t)" > $q/big.json
printf '{"id":"multi","kind":"capability","reason":"r","dockerfile":["RUN true\\nFROM evil"]}' > $q/multi.json
printf '{"id":"from","kind":"capability","reason":"r","dockerfile":["FROM evil"]}' > $q/from.json
ln -s /etc/passwd $q/link.json
while [ "$(ls $q/*.answer.json 2>/dev/null | wc -l)" -lt 4 ]; do sleep 0.2; done
cat $q/*.answer.json; echo still-running
while [ ! -f $q/done ]; do sleep 0.2; done`
	id, wait := e.applyInBackground("--var", "script="+script)
	dir := filepath.Join(e.home, "state", id)
	e.waitForOr("the hostile requests to be answered", 2*time.Minute, func() bool {
		e.mustRun("requests")
		data, _ := os.ReadFile(filepath.Join(dir, "audit.jsonl"))
		return strings.Count(string(data), "request_rejected") >= 4
	}, func() string {
		data, _ := os.ReadFile(filepath.Join(dir, "audit.jsonl"))
		return e.dump() + "\naudit:\n" + string(data)
	})
	// The agent waits for this file, so the audit log above was read while
	// the bottle still ran.
	if err := os.WriteFile(filepath.Join(dir, "queue", "done"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	r := wait()
	if r.code != 0 {
		t.Fatalf("apply: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	contains(t, "agent output", r.stdout, `"status":"rejected"`, "larger than", "FROM", "not a regular file", "still-running")
}
