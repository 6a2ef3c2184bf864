package runner_test

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/bottle-dev/bottle/backend"
	"github.com/bottle-dev/bottle/backend/fake"
	"github.com/bottle-dev/bottle/runner"
)

// syncingBackend is the fake as a backend whose bottles hold their own
// queue (kubernetes): the host queue gets a request only through
// SyncQueue, which files what the test put in inPod.
type syncingBackend struct {
	*fake.Backend
	mu    sync.Mutex
	calls int
	inPod map[string][]byte // name -> content, "in the bottle"
}

func (s *syncingBackend) SyncQueue(ctx context.Context, id, hostDir string) (backend.QueueSync, error) {
	if _, err := s.Inspect(ctx, id); err != nil {
		return backend.QueueSync{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	n := 0
	for name, data := range s.inPod {
		if cur, err := os.ReadFile(filepath.Join(hostDir, name)); err == nil && string(cur) == string(data) {
			continue
		}
		if err := os.WriteFile(filepath.Join(hostDir, name), data, 0o644); err != nil {
			return backend.QueueSync{}, err
		}
		n++
	}
	return backend.QueueSync{Copied: n}, nil
}

func (s *syncingBackend) file(name string, data []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inPod[name] = data
}

func (s *syncingBackend) callCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

// TestWatchMirrorsAQueueSyncer: a running watch polls the queue of a bottle
// whose backend keeps its own copy, reports the request that arrives
// through it, and does not poll in a busy loop; bottle requests syncs once
// per listing.
func TestWatchMirrorsAQueueSyncer(t *testing.T) {
	e := newEnv(t, basicHCL)
	sb := &syncingBackend{Backend: e.docker, inPod: map[string][]byte{}}
	e.r.Backend = func(name string) (backend.Backend, error) { return sb, nil }
	// The agent files nothing through the host directory, and ends when
	// the test is done with it.
	done := make(chan struct{})
	e.docker.SetAgent(baseImage, func(ctx context.Context, in *fake.Instance, io backend.IO) int {
		select {
		case <-ctx.Done():
		case <-done:
		}
		return 0
	})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	werr := make(chan error, 1)
	go func() { werr <- e.r.Watch(ctx, runner.WatchOptions{Rescan: 50 * time.Millisecond}) }()
	ch := e.applyAsync("b")
	id := e.onlyIdentity()
	waitFor(t, "the watch to poll the bottle's queue", func() bool { return sb.callCount() > 0 })

	// Idle, the polls back off to one a second: a busy loop would make
	// thousands in this time.
	before := sb.callCount()
	idle := time.NewTimer(1500 * time.Millisecond)
	<-idle.C
	if n := sb.callCount() - before; n > 12 {
		t.Errorf("%d polls of an idle queue in 1.5 s: a busy loop", n)
	}

	sb.file("req-7.json", request("req-7", "need it", "RUN true"))
	waitFor(t, "the watch to report the mirrored request", func() bool {
		return len(e.events.of(runner.EventRequest, id)) == 1
	})

	// A listing syncs each such bottle once, and sees what it brought.
	sb.file("req-8.json", request("req-8", "need more", "RUN true"))
	reqs, err := e.r.Requests(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(reqs) != 2 || reqs[1].Request.ID != "req-8" {
		t.Errorf("Requests = %+v; want req-7 and req-8", reqs)
	}
	close(done)
	_ = wait(t, ch)
	cancel()
	if err := <-werr; err != nil {
		t.Fatal(err)
	}
}

// TestListerSyncsEveryRefresh: the dashboard's Lister reads a bottle whose
// backend keeps its own queue on every refresh, reported change or not,
// since only that read mirrors a request filed there.
func TestListerSyncsEveryRefresh(t *testing.T) {
	e := newEnv(t, basicHCL)
	sb := &syncingBackend{Backend: e.docker, inPod: map[string][]byte{}}
	e.r.Backend = func(name string) (backend.Backend, error) { return sb, nil }
	e.stateOf("pod-aaaaa", false, false)
	e.stateOf("kept-aaaaa", true, false)
	e.docker.AddImage(baseImage, nil)
	if _, err := e.docker.Create(t.Context(), backend.Spec{Identity: "pod-aaaaa", Bottle: "b", Agent: "a", Image: baseImage}); err != nil {
		t.Fatal(err)
	}
	l := e.r.NewLister()
	if _, _, err := l.Refresh(t.Context(), nil, true); err != nil {
		t.Fatal(err)
	}
	sb.file("req-9.json", request("req-9", "need it", "RUN true"))
	before := sb.callCount()
	_, reqs, err := l.Refresh(t.Context(), nil, false)
	if err != nil {
		t.Fatal(err)
	}
	if n := sb.callCount() - before; n != 1 {
		t.Errorf("%d syncs in a refresh with no change reported, want 1 (the running bottle's)", n)
	}
	if len(reqs) != 1 || reqs[0].Request.ID != "req-9" {
		t.Errorf("Refresh = %+v; want the mirrored req-9", reqs)
	}
}
