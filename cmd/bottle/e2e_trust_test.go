package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
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
