package runner_test

import (
	"os"
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

// TestListerRereadsWhatChanged: a Lister re-reads only the state dirs the
// changed paths name (a request there is taken in, frozen, before it is
// listed), follows identities that appear and go, asks the engine every
// time, and reads everything when told the state root changed.
func TestListerRereadsWhatChanged(t *testing.T) {
	e := newEnv(t, basicHCL)
	a := e.stateOf("a-aaaaa", false, false)
	e.stateOf("c-aaaaa", true, false)
	l := e.r.NewLister()
	root := e.home.StateRoot()
	refresh := func(full bool, paths ...string) (map[string]runner.BottleStatus, []string, []runner.PendingRequest) {
		t.Helper()
		rows, reqs, err := l.Refresh(t.Context(), paths, full)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]runner.BottleStatus{}
		var order []string
		for _, r := range rows {
			got[r.Identity] = r
			order = append(order, r.Identity)
		}
		return got, order, reqs
	}
	if _, order, _ := refresh(false); !slices.Equal(order, []string{"a-aaaaa", "c-aaaaa"}) {
		t.Fatalf("first refresh %q", order)
	}

	// A request nobody reported is not read; reported, it is frozen and listed.
	writeFile(t, filepath.Join(a.QueuePath(), "r1.json"), string(request("r1", "ok", "RUN true")))
	if got, _, reqs := refresh(false); got["a-aaaaa"].PendingRequests != 0 || len(reqs) != 0 {
		t.Errorf("an unreported change was read: %+v %+v", got["a-aaaaa"], reqs)
	}
	got, _, reqs := refresh(false, filepath.Join(a.QueuePath(), "r1.json"), "/elsewhere/x")
	if got["a-aaaaa"].PendingRequests != 1 || len(reqs) != 1 || reqs[0].Request.ID != "r1" {
		t.Errorf("after the change was reported: %+v %+v", got["a-aaaaa"], reqs)
	}
	if _, err := a.PendingRequest("r1"); err != nil {
		t.Errorf("listed but not frozen: %v", err)
	}

	// Identities come and go.
	e.stateOf("b-aaaaa", false, false)
	if err := os.RemoveAll(filepath.Join(root, "c-aaaaa")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(root, "Bad_Name"), 0o700); err != nil {
		t.Fatal(err)
	}
	got, order, reqs := refresh(false, filepath.Join(root, "b-aaaaa", "metadata.json"), filepath.Join(root, "c-aaaaa"), filepath.Join(root, "Bad_Name"))
	if !slices.Equal(order, []string{"a-aaaaa", "b-aaaaa", "Bad_Name"}) || got["Bad_Name"].State != runner.StatusError || len(reqs) != 1 {
		t.Errorf("after b came, c went and a bad name appeared: %q %+v", order, reqs)
	}

	// The state root itself: everything is read again.
	writeFile(t, filepath.Join(e.stateDir("b-aaaaa").QueuePath(), "r2.json"), string(request("r2", "ok", "RUN true")))
	if _, _, reqs := refresh(false, root); len(reqs) != 2 {
		t.Errorf("a rescan found %d requests, want 2", len(reqs))
	}
	if n := len(e.docker.Calls(fake.OpList)); n != 5 {
		t.Errorf("%d Lists for 5 refreshes", n)
	}
}
