package dashboard

import (
	"slices"
	"testing"
	"time"
)

// lastRefresh is the most recent Refresh the fake was asked for.
func (f *fakeSource) lastRefresh(t *testing.T) refreshCall {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.refreshes) == 0 {
		t.Fatal("no refresh")
	}
	return f.refreshes[len(f.refreshes)-1]
}

// TestRefreshReadsWhatChanged: with the file watch running, a batch of
// changed paths reads those, a periodic check reads no state dir (the
// engines only) except every fullRefreshEvery-th, and the paths that
// arrive during a refresh are read by the next one, all of them.
func TestRefreshReadsWhatChanged(t *testing.T) {
	f := newFake()
	changes := make(chan []string)
	m := New(t.Context(), f, Options{Changes: changes, Now: func() time.Time { return testNow }})
	m = drain(t, m, m.Init())
	if c := f.lastRefresh(t); !c.full {
		t.Fatalf("first refresh %+v, want a full one", c)
	}

	next, cmd := m.Update(changesMsg{"/s/a/queue/r.json"})
	m = drain(t, next.(Model), cmd)
	if c := f.lastRefresh(t); c.full || !slices.Equal(c.paths, []string{"/s/a/queue/r.json"}) {
		t.Errorf("refresh after a change %+v, want that path only", c)
	}

	for i := 1; i <= fullRefreshEvery; i++ {
		next, cmd := m.Update(tickMsg(testNow))
		m = drain(t, next.(Model), cmd)
		c := f.lastRefresh(t)
		if want := i == fullRefreshEvery; c.full != want || len(c.paths) != 0 {
			t.Errorf("tick %d: refresh %+v, want full %v and no path", i, c, want)
		}
	}

	// Two batches while a refresh is in flight: one more refresh, of both.
	next, first := m.Update(changesMsg{"/s/b/metadata.json"})
	m = next.(Model)
	next, _ = m.Update(changesMsg{"/s/c/queue/x.json"})
	next, _ = next.(Model).Update(changesMsg{"/s/d"})
	n := len(f.refreshes)
	m = drain(t, next.(Model), first)
	if got := len(f.refreshes) - n; got != 2 {
		t.Fatalf("%d refreshes for three batches during one, want 2", got)
	}
	if c := f.lastRefresh(t); c.full || !slices.Equal(c.paths, []string{"/s/c/queue/x.json", "/s/d"}) {
		t.Errorf("the refresh after the one in flight %+v, want both later batches", c)
	}
}

// TestRefreshWithoutWatchIsFull: when no file watch runs (or it failed),
// every periodic check reads every state dir.
func TestRefreshWithoutWatchIsFull(t *testing.T) {
	f := newFake()
	m := newModel(t, f)
	for i := range 3 {
		next, cmd := m.Update(tickMsg(testNow))
		m = drain(t, next.(Model), cmd)
		if c := f.lastRefresh(t); !c.full {
			t.Errorf("tick %d without a watch: refresh %+v, want full", i, c)
		}
	}
	m = New(t.Context(), f, Options{Changes: make(chan []string), Now: func() time.Time { return testNow }})
	m = drain(t, m, m.Init())
	next, _ := m.Update(changesClosedMsg{})
	m = next.(Model)
	next, cmd := m.Update(tickMsg(testNow))
	drain(t, next.(Model), cmd)
	if c := f.lastRefresh(t); !c.full {
		t.Errorf("tick after the watch closed: refresh %+v, want full", c)
	}
}
