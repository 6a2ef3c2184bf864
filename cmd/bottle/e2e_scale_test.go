package main

import (
	"encoding/json"
	"sync"
	"testing"
	"time"
)

// TestSixtyFourBottlesAtOnce: 64 detached launches at once on one engine
// all run (each identity's network takes a /28 of bottle's own pool, where
// the engine's default pools hold about 30 networks), and destroy --all
// leaves nothing of any of them.
func TestSixtyFourBottlesAtOnce(t *testing.T) {
	e := newE2E(t)
	e.write("bottle.hcl", busyboxAgent)
	const n = 64
	results := make([]result, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			results[i] = e.runFor(15*time.Minute, "apply", "--auto-approve", "--detach", "--var", "script=sleep 600")
		})
	}
	wg.Wait()
	var ids []string
	for i, r := range results {
		if r.code != 0 {
			t.Fatalf("apply %d: exit %d\n%s\n%s", i, r.code, r.stdout, r.stderr)
		}
		ids = append(ids, identities(r.stderr)...)
	}
	if len(ids) != n {
		t.Fatalf("%d identities launched, want %d", len(ids), n)
	}
	st := e.mustRun("status", "--json")
	var doc struct {
		Bottles []struct{ Identity, State string } `json:"bottles"`
	}
	if err := json.Unmarshal([]byte(st.stdout), &doc); err != nil {
		t.Fatalf("status --json: %v\n%s", err, st.stdout)
	}
	running := 0
	for _, b := range doc.Bottles {
		if b.State == "running" {
			running++
		}
	}
	if running != n {
		t.Errorf("%d of %d bottles running:\n%s", running, n, st.stdout)
	}
	if r := e.runFor(15*time.Minute, "destroy", "--all"); r.code != 0 {
		t.Fatalf("destroy --all: exit %d\n%s", r.code, r.stderr)
	}
	for _, id := range ids {
		if left := e.leftovers(id); len(left) != 0 {
			t.Errorf("%s left %v", id, left)
		}
	}
	if dirs := e.stateDirs(); len(dirs) != 0 {
		t.Errorf("state dirs left: %v", dirs)
	}
}
