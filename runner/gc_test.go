package runner_test

import (
	"context"
	"os"
	"slices"
	"sort"
	"testing"

	"github.com/bottle-dev/bottle/backend"
	"github.com/bottle-dev/bottle/backend/fake"
)

// instance creates a bottle on the fake directly, as a session that died
// (kill -9) or another BOTTLE_HOME would have left it, in state st.
func (e *env) instance(identity, home string, st backend.State) {
	e.t.Helper()
	e.docker.AddImage(baseImage, nil)
	spec := backend.Spec{Identity: identity, Bottle: "b", Agent: "a", Image: baseImage, Labels: map[string]string{backend.LabelHome: home}}
	inst, err := e.docker.Create(e.t.Context(), spec)
	if err != nil {
		e.t.Fatal(err)
	}
	if st == backend.StateCreated {
		return
	}
	if err := e.docker.Start(e.t.Context(), inst.ID); err != nil {
		e.t.Fatal(err)
	}
	if st == backend.StateExited {
		if err := e.docker.Halt(e.t.Context(), inst.ID); err != nil {
			e.t.Fatal(err)
		}
	}
}

func TestGC(t *testing.T) {
	e := newEnv(t, basicHCL)
	e.docker.SetAgent(baseImage, blockingAgent())
	home := e.home.ID()

	// A session killed mid-run: state, a running instance, no owner.
	e.stateOf("orphan-aaaaa", false, false)
	e.instance("orphan-aaaaa", home, backend.StateRunning)
	// A preserved bottle's stopped instance, and a live session's.
	e.stateOf("kept-aaaaa", true, true)
	e.instance("kept-aaaaa", home, backend.StateExited)
	e.stateOf("live-aaaaa", false, false)
	e.instance("live-aaaaa", home, backend.StateRunning)
	lock, err := e.home.TryLockOwner("live-aaaaa")
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Unlock()
	// Detached launches: one still runs, one has ended.
	for _, id := range []string{"detached-aaaaa", "done-aaaaa"} {
		d := e.stateOf(id, false, false)
		md, _ := d.ReadMetadata()
		md.Detached = true
		if err := d.WriteMetadata(md); err != nil {
			t.Fatal(err)
		}
		st := backend.StateRunning
		if id == "done-aaaaa" {
			st = backend.StateExited
		}
		e.instance(id, home, st)
	}
	// Instances with no state: this home's, and another home's.
	e.instance("nostate-aaaaa", home, backend.StateRunning)
	e.instance("foreign-aaaaa", "another-home", backend.StateRunning)
	// Leftovers: this home's image of a gone identity, another home's, an
	// unlabelled network.
	e.docker.AddResource(backend.Resource{Kind: "image", ID: "i1", Name: "bottle/gone-aaaaa", Identity: "gone-aaaaa", Labels: map[string]string{backend.LabelHome: home}})
	e.docker.AddResource(backend.Resource{Kind: "image", ID: "i2", Name: "bottle/other-aaaaa", Identity: "other-aaaaa", Labels: map[string]string{backend.LabelHome: "another-home"}})
	e.docker.AddResource(backend.Resource{Kind: "network", ID: "n1", Name: "bottle-bare-aaaaa", Identity: "bare-aaaaa"})
	// A session that died before its instance existed.
	e.stateOf("stale-aaaaa", false, false)

	removed, err := e.r.GC(t.Context(), []string{backend.Docker})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(removed)
	want := []string{
		"docker bottle-done-aaaaa (done-aaaaa)",
		"docker bottle-nostate-aaaaa (nostate-aaaaa)",
		"docker bottle-orphan-aaaaa (orphan-aaaaa)",
		"docker image bottle/gone-aaaaa (gone-aaaaa)",
		"state stale-aaaaa",
	}
	if !slices.Equal(removed, want) {
		t.Errorf("GC removed\n%q\nwant\n%q", removed, want)
	}
	live := liveInstances(t, e.docker)
	sort.Strings(live)
	if wantLive := []string{"detached-aaaaa", "foreign-aaaaa", "kept-aaaaa", "live-aaaaa"}; !slices.Equal(live, wantLive) {
		t.Errorf("instances left %q, want %q", live, wantLive)
	}
	ids, _, _ := e.home.Identities()
	if wantIDs := []string{"detached-aaaaa", "kept-aaaaa", "live-aaaaa"}; !slices.Equal(ids, wantIDs) {
		t.Errorf("state dirs left %q, want %q", ids, wantIDs)
	}
	left, _ := e.docker.Leftovers(t.Context())
	var names []string
	for _, r := range left {
		names = append(names, r.Kind+" "+r.Identity)
	}
	for _, keep := range []string{"image other-aaaaa", "network bare-aaaaa", "network foreign-aaaaa"} {
		if !slices.Contains(names, keep) {
			t.Errorf("GC removed %s, which is not this home's; left %q", keep, names)
		}
	}
	// GC listed this home's bottles only (the test's own List has no match).
	lists := slices.DeleteFunc(e.docker.Calls(fake.OpList), func(c fake.Call) bool { return len(c.Match) == 0 })
	if len(lists) == 0 {
		t.Error("GC did not list instances")
	}
	for _, c := range lists {
		if c.Match[backend.LabelHome] != home || c.Match[backend.LabelManaged] != "true" {
			t.Errorf("List %v does not filter on this home's managed bottles", c.Match)
		}
	}
}

func TestGCUnknownBackend(t *testing.T) {
	e := newEnv(t, basicHCL)
	e.stateOf("stale-aaaaa", false, false)
	removed, err := e.r.GC(context.Background(), []string{"nope"})
	if err == nil {
		t.Error("GC on an unknown backend: no error")
	}
	if !slices.Equal(removed, []string{"state stale-aaaaa"}) {
		t.Errorf("GC still cleans stale state: %q", removed)
	}
}

// GC sweeps the lock files of identities it removed or that are long gone,
// and keeps those of live identities and those a process holds.
func TestGCSweepsStaleLocks(t *testing.T) {
	e := newEnv(t, basicHCL)
	e.stateOf("stale-aaaaa", false, false)
	e.stateOf("kept-aaaaa", true, true)
	for _, id := range []string{"stale-aaaaa", "kept-aaaaa", "gone-aaaaa"} {
		l, err := e.home.LockAnswer(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		_ = l.Unlock()
	}
	held, err := e.home.TryLockOwner("busy-aaaaa")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Unlock()
	if _, err := e.r.GC(t.Context(), []string{backend.Docker}); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(e.home.LockDir())
	if err != nil {
		t.Fatal(err)
	}
	var left []string
	for _, en := range entries {
		left = append(left, en.Name())
	}
	if want := []string{"answer-kept-aaaaa.lock", "busy-aaaaa.lock"}; !slices.Equal(left, want) {
		t.Errorf("lock dir holds %q, want %q", left, want)
	}
}
