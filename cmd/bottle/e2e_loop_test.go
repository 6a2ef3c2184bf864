package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

type pendingRequest struct {
	Identity   string   `json:"identity"`
	ID         string   `json:"id"`
	Reason     string   `json:"reason"`
	Dockerfile []string `json:"dockerfile"`
	Digest     string   `json:"digest"`
}

// waitRequest polls bottle requests --json until identity has a pending
// request, and returns it.
func (e *e2e) waitRequest(identity string) pendingRequest {
	e.t.Helper()
	var got pendingRequest
	e.waitForOr("a pending request from "+identity, 2*time.Minute, func() bool {
		r := e.mustRun("requests", "--json")
		var doc struct {
			Requests []pendingRequest `json:"requests"`
		}
		if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
			e.t.Fatalf("requests --json: %v\n%s", err, r.stdout)
		}
		for _, p := range doc.Requests {
			if p.Identity == identity {
				got = p
				return true
			}
		}
		return false
	}, func() string {
		if e.dump != nil {
			return e.dump()
		}
		return ""
	})
	return got
}

const loopAgent = `
agent "box" {
  image   = "busybox:latest"
  command = ["sh", "-c", <<-EOT
    mkdir -p /home/agent/t
    echo "first launch $BOTTLE_SESSION_ID" >> /home/agent/t/log
    echo work > /workspace/made-by-agent.txt
    /run/bottle/bottle-request --reason "need newtool" --run "printf '#!/bin/sh\necho newtool works\n' > /usr/local/bin/newtool && chmod +x /usr/local/bin/newtool" --wait
    sleep 300
  EOT
  ]
  resume_command = ["sh", "-c", <<-EOT
    echo "resumed=$BOTTLE_RESUMED session=$BOTTLE_SESSION_ID"
    cat /home/agent/t/log
    newtool
    cat /workspace/made-by-agent.txt
  EOT
  ]
  transcript = "/home/agent/t"
}

bottle "loop" {
  agent = agent.box
  cwd {
    path = "project"
    copy = true
  }
}
`

// TestApproveThenResumeByHand walks the loop without watch: approval keeps
// the state, the attached apply prints the resume hint, and resume brings the
// bottle back on the new image with its transcript and workspace, even from a
// metadata.json written before the backend field existed.
func TestApproveThenResumeByHand(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	e.write("bottle.hcl", loopAgent)
	e.write("project/README", "hello\n")
	c, out, errb := e.cmd(t.Context(), "apply", "--auto-approve")
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	var id string
	e.waitFor("launch", time.Minute, func() bool {
		ids := identities(errb.String())
		if len(ids) > 0 {
			id = ids[0]
		}
		return id != ""
	})
	req := e.waitRequest(id)
	if req.Reason != "need newtool" || len(req.Dockerfile) != 1 || !strings.HasPrefix(req.Dockerfile[0], "RUN printf") {
		t.Fatalf("request %+v", req)
	}
	ap := e.mustRun("approve", id, req.ID)
	contains(t, "approve", ap.stdout, "bottle resume "+id)
	if err := c.Wait(); err != nil {
		t.Fatalf("apply after approval: %v\n%s\n%s", err, out.String(), errb.String())
	}
	contains(t, "apply stdout", out.String(), "bottle resume "+id)

	dir := filepath.Join(e.home, "state", id)
	for _, p := range []string{"Dockerfile", ".preserve", "transcript/log", "workspace/made-by-agent.txt", "workspace/README"} {
		if _, err := os.Lstat(filepath.Join(dir, p)); err != nil {
			t.Errorf("after approval: %v", err)
		}
	}
	if left := e.leftovers(id); len(left) != 0 && !onlyImages(left) {
		t.Errorf("approval left the bottle running: %v", left)
	}
	// A metadata.json from before the backend field resumes on docker.
	stripBackend(t, filepath.Join(dir, "metadata.json"))

	r := e.mustRun("resume", id)
	contains(t, "resume stdout", r.stdout, "resumed=1", "first launch", "newtool works", "work")
	if _, err := os.Lstat(dir); !os.IsNotExist(err) {
		t.Errorf("state dir still there after the resumed session ended normally: %v", err)
	}
	for _, l := range e.leftovers(id) {
		if !strings.HasPrefix(l, "image ") {
			t.Errorf("left after the resumed session: %s", l)
		}
	}
	e.mustRun("gc")
	if left := e.leftovers(id); len(left) != 0 {
		t.Errorf("gc left %v", left)
	}
}

func onlyImages(left []string) bool {
	for _, l := range left {
		if !strings.HasPrefix(l, "image ") {
			return false
		}
	}
	return true
}

func stripBackend(t *testing.T, path string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	if m["backend"] != "docker" {
		t.Fatalf("metadata backend = %v, want docker", m["backend"])
	}
	delete(m, "backend")
	data, _ = json.Marshal(m)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestFailedResumeKeepsTheState: an approved line that does not build must
// not cost the bottle its transcript: the resume fails, the state stays
// preserved, and bottle ls says so.
func TestFailedResumeKeepsTheState(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	e.write("bottle.hcl", busyboxAgent)
	id, wait := e.applyInBackground("--var", `script=mkdir -p /home/agent/t; echo kept > /home/agent/t/log; /run/bottle/bottle-request --reason broken --run "exit 3" --wait; sleep 300`)
	e.mustRun("approve", id, e.waitRequest(id).ID)
	r := wait()
	if r.code != 0 {
		t.Fatalf("apply: exit %d\n%s", r.code, r.stderr)
	}
	// No watch runs: the resume is the operator's to start. The agent's
	// kill (137) is not reported as its exit.
	contains(t, "apply stdout", r.stdout, id+" was stopped for a capability approval; its state is kept.\nResume it with:\n  bottle resume "+id)
	contains(t, "apply stderr", r.stderr, id+": agent stopped: a capability approval is rebuilding this bottle")
	if strings.Contains(r.stderr, "exited with code") {
		t.Errorf("apply reported an exit:\n%s", r.stderr)
	}
	r = e.run("resume", id)
	if r.code == 0 {
		t.Fatalf("resume of a Dockerfile that cannot build succeeded:\n%s", r.stderr)
	}
	contains(t, "resume stderr", r.stderr, "per-bottle Dockerfile")
	data, err := os.ReadFile(filepath.Join(e.home, "state", id, "transcript", "log"))
	if err != nil || string(data) != "kept\n" {
		t.Fatalf("transcript after a failed resume: %q, %v", data, err)
	}
	contains(t, "ls", e.mustRun("ls").stdout, id, "preserved")
	e.mustRun("destroy", id)
	if dirs := e.stateDirs(); len(dirs) != 0 {
		t.Errorf("destroy left %v", dirs)
	}
}
