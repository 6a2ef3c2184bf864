package main

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// swapScript files an honest request, waits until the host has shown it
// (the test touches queue/go), then rewrites it with another line, as a
// hostile agent would, and prints the answer it gets.
const swapScript = `q=/run/bottle/queue
id=$(/run/bottle/bottle-request --reason honest --run "touch /honest")
while [ ! -e $q/go ]; do sleep 0.2; done
printf '{"id":"%s","kind":"capability","reason":"honest","dockerfile":["RUN touch /evil"]}' "$id" > $q/.swap
mv $q/.swap $q/$id.json
touch $q/swapped
while [ ! -e $q/$id.answer.json ]; do sleep 0.2; done
echo "answer: $(cat $q/$id.answer.json)"
sleep 300`

// TestSwappedRequestIsNeverBuiltOnDocker: the agent rewrites a request
// after bottle requests showed it. Neither approve --digest nor a plain
// approve builds it; the agent is told its request was rejected as changed.
func TestSwappedRequestIsNeverBuiltOnDocker(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	e.write("bottle.hcl", busyboxAgent)
	id, wait := e.applyInBackground("--var", "script="+swapScript)
	req := e.waitRequest(id)
	if !strings.HasPrefix(req.Digest, "sha256:") || len(req.Dockerfile) != 1 || req.Dockerfile[0] != "RUN touch /honest" {
		t.Fatalf("request %+v", req)
	}
	human := e.mustRun("requests").stdout
	contains(t, "requests", human, "digest: "+req.Digest, "--digest "+req.Digest)

	queue := filepath.Join(e.home, "state", id, "queue")
	if err := os.WriteFile(filepath.Join(queue, "go"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	e.waitFor("the agent to swap its request", time.Minute, func() bool {
		_, err := os.Lstat(filepath.Join(queue, "swapped"))
		return err == nil
	})
	r := e.run("approve", id, req.ID, "--digest", req.Digest)
	if r.code == 0 || !strings.Contains(r.stderr, "already answered (rejected)") {
		t.Fatalf("approve of a swapped request: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if r := e.run("approve", id, req.ID); r.code == 0 {
		t.Fatalf("plain approve of a swapped request succeeded:\n%s", r.stdout)
	}
	dir := filepath.Join(e.home, "state", id)
	for _, p := range []string{"Dockerfile", ".preserve"} {
		if _, err := os.Lstat(filepath.Join(dir, p)); err == nil {
			t.Errorf("a swapped request left %s", p)
		}
	}
	var answer struct{ Status, Reason string }
	data, err := os.ReadFile(filepath.Join(queue, req.ID+".answer.json"))
	if err == nil {
		err = json.Unmarshal(data, &answer)
	}
	if err != nil || answer.Status != "rejected" || !strings.Contains(answer.Reason, "changed") {
		t.Errorf("answer %+v, %v", answer, err)
	}
	audit, _ := os.ReadFile(filepath.Join(dir, "audit.jsonl"))
	contains(t, "audit.jsonl", string(audit), `"request_changed"`, req.Digest)
	e.mustRun("stop", id)
	if res := wait(); !strings.Contains(res.stdout+res.stderr, `answer: {"id":"`+req.ID+`","status":"rejected"`) {
		t.Errorf("the agent was not told:\n%s\n%s", res.stdout, res.stderr)
	}
}

// killScript files a request and waits for its answer; its resume shows
// the transcript it kept and the file the approved line made.
const (
	killScript = `mkdir -p /home/agent/t; echo kept > /home/agent/t/log
/run/bottle/bottle-request --reason "need a file" --run "touch /approved" --wait
sleep 300`
	killResume = `cat /home/agent/t/log; test -e /approved && echo approved-file`
)

// TestApproveKilledAtEveryStep kills bottle approve with SIGKILL at each
// step of the approval (BOTTLE_TEST_KILL_AT). Whatever it left, the retry
// approves, the attached session ends keeping the state, and the resume
// runs the approved image with the transcript. Nothing is approved twice.
func TestApproveKilledAtEveryStep(t *testing.T) {
	t.Parallel()
	for _, step := range []string{"intent", "stop", "snapshot", "snapshotted", "preserve", "answer", "teardown", "dockerfile"} {
		t.Run(step, func(t *testing.T) {
			t.Parallel()
			e := newE2E(t)
			e.write("bottle.hcl", busyboxAgent)
			id, wait := e.applyInBackground("--var", "script="+killScript, "--var", "resume="+killResume)
			req := e.waitRequest(id)

			c, out, errb := e.cmd(t.Context(), "approve", id, req.ID, "--digest", req.Digest)
			c.Env = append(c.Env, "BOTTLE_TEST_KILL_AT="+step)
			err := c.Run()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
				t.Fatalf("approve with BOTTLE_TEST_KILL_AT=%s: %v, want killed\n%s\n%s", step, err, out, errb)
			}
			dir := filepath.Join(e.home, "state", id)
			if _, err := os.Lstat(filepath.Join(dir, "queue", req.ID+".answer.json")); err == nil {
				_, ierr := os.Lstat(filepath.Join(dir, "approval.json"))
				_, derr := os.Lstat(filepath.Join(dir, "Dockerfile"))
				if ierr != nil && derr != nil {
					t.Fatal("answered, no Dockerfile, and no approval record to finish it")
				}
			}
			r := e.mustRun("approve", id, req.ID)
			contains(t, "approve retry", r.stdout, "approved "+req.ID, "bottle resume "+id)
			if res := wait(); res.code != 0 {
				t.Fatalf("apply after the approval: exit %d\n%s", res.code, res.stderr)
			}
			df, err := os.ReadFile(filepath.Join(dir, "Dockerfile"))
			if err != nil || strings.Count(string(df), "RUN touch /approved") != 1 {
				t.Fatalf("Dockerfile %q, %v: want the approved line once", df, err)
			}
			for _, p := range []string{"approval.json"} {
				if _, err := os.Lstat(filepath.Join(dir, p)); err == nil {
					t.Errorf("%s left after the approval", p)
				}
			}
			res := e.mustRun("resume", id)
			contains(t, "resume", res.stdout, "kept", "approved-file")
			if _, err := os.Lstat(dir); !os.IsNotExist(err) {
				t.Errorf("state left after the resumed session ended: %v", err)
			}
			e.mustRun("gc")
			if left := e.leftovers(id); len(left) != 0 {
				t.Errorf("left behind: %v", left)
			}
		})
	}
}
