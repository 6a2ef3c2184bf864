package runner_test

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/bottle-dev/bottle/backend/fake"
	"github.com/bottle-dev/bottle/runner"
)

// TestOverviewOnePass: the dashboard's refresh reads each state dir once:
// rows and requests together, each rejection reported once, one List per
// backend, and a queue with nothing new costs no answer lock, while a
// request file still is taken in (frozen) before it is listed.
func TestOverviewOnePass(t *testing.T) {
	e := newEnv(t, basicHCL)
	e.stateOf("quiet-aaaaa", false, false)
	e.stateOf("kept-aaaaa", true, false)
	busy := e.stateOf("busy-aaaaa", false, false)
	writeFile(t, filepath.Join(busy.QueuePath(), "good.json"), string(request("good", "ok", "RUN true")))
	writeFile(t, filepath.Join(busy.QueuePath(), "bad.json"), "{")

	for round := range 2 {
		rows, reqs, err := e.r.Overview(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]runner.BottleStatus{}
		for _, r := range rows {
			got[r.Identity] = r
		}
		if len(rows) != 3 || got["quiet-aaaaa"].State != runner.StatusExited || got["kept-aaaaa"].State != runner.StatusPreserved ||
			got["busy-aaaaa"].State != runner.StatusExited || got["busy-aaaaa"].PendingRequests != 1 {
			t.Errorf("round %d: rows %+v", round, rows)
		}
		if len(reqs) != 1 || reqs[0].Identity != "busy-aaaaa" || reqs[0].Request.ID != "good" || reqs[0].Bottle != "b" || reqs[0].Digest == "" {
			t.Errorf("round %d: requests %+v", round, reqs)
		}
		if n := len(e.docker.Calls(fake.OpList)); n != round+1 {
			t.Errorf("round %d: %d Lists in all, want one per refresh", round, n)
		}
	}
	if _, err := busy.PendingRequest("good"); err != nil {
		t.Errorf("the listed request was not frozen: %v", err)
	}
	if rj := e.events.of(runner.EventRejected, "busy-aaaaa"); len(rj) != 1 {
		t.Errorf("rejections %q, want the bad request's once", rj)
	}
	for id, locked := range map[string]bool{"quiet-aaaaa": false, "kept-aaaaa": false, "busy-aaaaa": true} {
		if got := exists(filepath.Join(e.home.LockDir(), "answer-"+id+".lock")); got != locked {
			t.Errorf("answer lock of %s taken: %v, want %v", id, got, locked)
		}
	}
}

// TestStatusIsSilent: bottle ls takes queues in (so that its counts are
// of frozen requests) but reports no rejection: that is bottle requests'.
func TestStatusIsSilent(t *testing.T) {
	e := newEnv(t, basicHCL)
	d := e.stateOf("one-aaaaa", false, false)
	writeFile(t, filepath.Join(d.QueuePath(), "bad.json"), "{")
	writeFile(t, filepath.Join(d.QueuePath(), "good.json"), string(request("good", "ok", "RUN true")))
	rows, err := e.r.Status(t.Context())
	if err != nil || len(rows) != 1 || rows[0].PendingRequests != 1 {
		t.Fatalf("Status = %+v, %v", rows, err)
	}
	if rj := e.events.of(runner.EventRejected, ""); len(rj) != 0 {
		t.Errorf("Status reported rejections %q", rj)
	}
	if !slices.Contains(auditEvents(t, d), "request_rejected") {
		t.Errorf("audit %q: the bad request was not rejected", auditEvents(t, d))
	}
}
