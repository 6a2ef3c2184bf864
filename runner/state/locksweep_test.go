package state

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
)

func TestSweepLocks(t *testing.T) {
	h := newHome(t)
	if _, err := h.Create("live-abcde"); err != nil {
		t.Fatal(err)
	}
	held, err := h.TryLockOwner("held-abcde")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Unlock()
	cache, err := h.TryLockCache("k1")
	if err != nil {
		t.Fatal(err)
	}
	_ = cache.Unlock()
	for _, n := range []string{"gone-abcde", "answer-gone-abcde", "live-abcde", "answer-live-abcde", "watch", "not-an-identity", "answer-x"} {
		if err := os.WriteFile(filepath.Join(h.LockDir(), n+".lock"), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(h.LockDir(), "notes.txt"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	removed, err := h.SweepLocks()
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(removed)
	if want := []string{"answer-gone-abcde.lock", "gone-abcde.lock"}; !slices.Equal(removed, want) {
		t.Errorf("removed %q, want %q", removed, want)
	}
	want := []string{"answer-live-abcde.lock", "answer-x.lock", "cache-k1.lock", "held-abcde.lock", "live-abcde.lock", "not-an-identity.lock", "notes.txt", "watch.lock"}
	if got := dirNames(t, h.LockDir()); !slices.Equal(got, want) {
		t.Errorf("lock dir holds %q, want %q", got, want)
	}
	// A home with no lock dir has nothing to sweep.
	if r, err := newHome(t).SweepLocks(); err != nil || len(r) != 0 {
		t.Errorf("SweepLocks without a lock dir = %q, %v", r, err)
	}
}

// Sweeping while processes take and release an identity's lock never lets
// two of them hold it at once: a lock taken on a file the sweep removed is
// retried on the new one.
func TestSweepLocksKeepsMutualExclusion(t *testing.T) {
	h := newHome(t)
	const id = "race-abcde"
	var holders, violations atomic.Int32
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 300; i++ {
				l, err := h.TryLockOwner(id)
				if errors.Is(err, ErrLocked) {
					continue
				}
				if err != nil {
					t.Error(err)
					return
				}
				if holders.Add(1) != 1 {
					violations.Add(1)
				}
				// Hold it a while, so that a second holder would overlap.
				for range 50 {
					runtime.Gosched()
				}
				holders.Add(-1)
				_ = l.Unlock()
			}
		}()
	}
	go func() {
		for {
			select {
			case <-stop:
				return
			default:
				_, _ = h.SweepLocks()
			}
		}
	}()
	wg.Wait()
	close(stop)
	if n := violations.Load(); n > 0 {
		t.Errorf("%d times two holders at once", n)
	}
}
