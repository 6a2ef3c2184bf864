package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/bottle-dev/bottle/backend"
	"github.com/bottle-dev/bottle/runner/state"
	"github.com/bottle-dev/bottle/runner/watch"
)

// WatchOptions configure Watch.
type WatchOptions struct {
	// Output returns where the output of a bottle the watch resumed goes
	// besides its agent.log (e.g. the terminal, prefixed by the identity).
	Output func(identity string) io.Writer
	// Rescan is the period of a full scan that backs up the fsnotify events.
	Rescan time.Duration
}

// ErrWatchRunning means another bottle watch holds the watch lock.
var ErrWatchRunning = errors.New("another bottle watch is running")

// Watch resumes preserved bottles as soon as a capability approval's
// per-bottle Dockerfile appears, exactly as bottle resume does but detached
// from any terminal, and reports each new capability request. It follows the
// bottles it resumed and runs their cleanup decision when each ends. An error
// in one bottle never stops the watch. When ctx is done it tears down the
// bottles it launched (their state is removed unless a new approval
// preserved it) and returns.
func (r *Runner) Watch(ctx context.Context, opts WatchOptions) error {
	lock, err := r.Home.TryLockWatch()
	// WatchRunning (the dashboard, bottle approve) probes the lock by taking
	// it for an instant; a few retries tell such a probe from a real watch.
	for i := 0; i < 20 && errors.Is(err, state.ErrLocked); i++ {
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(25 * time.Millisecond):
		}
		lock, err = r.Home.TryLockWatch()
	}
	if errors.Is(err, state.ErrLocked) {
		return ErrWatchRunning
	}
	if err != nil {
		return err
	}
	defer lock.Unlock()
	if err := os.MkdirAll(r.Home.StateRoot(), 0o700); err != nil {
		return fmt.Errorf("create state root: %w", err)
	}
	if opts.Rescan <= 0 {
		opts.Rescan = 2 * time.Second
	}
	batches := make(chan []string)
	werr := make(chan error, 1)
	wopts := watch.DefaultOptions
	// An approval writes the per-bottle Dockerfile last: act on it at once.
	wopts.Immediate = []string{state.DockerfileFile}
	go func() { werr <- watch.Run(ctx, r.Home.StateRoot(), wopts, batches) }()

	w := &watcher{r: r, opts: opts, inflight: map[string]bool{}, seen: map[string]bool{}, failed: map[string]string{},
		polling: map[string]bool{}, quietUntil: map[string]time.Time{}}
	defer w.wg.Wait()
	// The full rescan backs up fsnotify (lost events); it is timed so
	// that it never takes more than about 2% of the time, however many
	// identities there are.
	rescan := func() time.Duration {
		start := time.Now()
		w.sweep(ctx)
		return max(opts.Rescan, rescanShare*time.Since(start))
	}
	tick := time.NewTimer(rescan())
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case paths, ok := <-batches:
			if !ok {
				if err := <-werr; err != nil {
					return err
				}
				return nil
			}
			// Only the identities that changed: an event costs the same
			// with ten identities as with a thousand.
			if ids, ok := changedIdentities(r.Home.StateRoot(), paths); ok {
				w.visit(ctx, ids)
			} else {
				w.sweep(ctx)
			}
		case <-tick.C:
			tick.Reset(rescan())
		}
	}
}

// rescanShare is how many times its own duration the watch waits between
// two full rescans, at least.
const rescanShare = 50

type watcher struct {
	r        *Runner
	opts     WatchOptions
	wg       sync.WaitGroup
	mu       sync.Mutex
	inflight map[string]bool
	seen     map[string]bool // request ids already reported
	// failed remembers the per-bottle Dockerfile a resume failed on, so a
	// broken approval is reported once rather than retried every scan.
	failed map[string]string
	// polling and quietUntil pace the queue mirrors (queuesync.go).
	polling    map[string]bool
	quietUntil map[string]time.Time
}

// sweep looks at every identity: resume the ready ones, take in their queues
// and report new requests (it writes: see visit).
func (w *watcher) sweep(ctx context.Context) {
	ids, _, err := w.r.Home.Identities()
	if err != nil {
		w.r.emit(EventWatchError, "", "", err.Error())
		return
	}
	w.visit(ctx, ids)
}

// changedIdentities names the identities under root that paths are in; ok
// is false when a path is root itself or outside it (lost events): then
// only a full scan will do.
func changedIdentities(root string, paths []string) (ids []string, ok bool) {
	seen := map[string]bool{}
	for _, p := range paths {
		rel, err := filepath.Rel(root, p)
		if err != nil || rel == "." || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			return nil, false
		}
		id, _, _ := strings.Cut(rel, string(filepath.Separator))
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	return ids, true
}

// visit takes in the queues of ids (freezing new requests, answering bad
// ones), finishes approvals left behind, resumes the ready ones and reports
// new requests. An
// id without a state dir (one just removed) is skipped.
func (w *watcher) visit(ctx context.Context, ids []string) {
	for _, id := range ids {
		dir, err := w.r.Home.Dir(id)
		if err != nil {
			continue
		}
		md, err := dir.ReadMetadata()
		if err != nil {
			continue // being created, or corrupt: bottle ls shows it
		}
		// An approval a killed process left behind is finished here, so
		// that its bottle is resumed below (approval.go).
		if err := w.r.recoverIdle(ctx, dir); err != nil && w.report(id, err) {
			w.r.emit(EventWatchError, id, md.Bottle, err.Error())
		}
		w.mirrorQueue(ctx, id, dir)
		if pending, rejected, err := w.r.intake(dir); err == nil {
			for _, rj := range rejected {
				w.r.emit(EventRejected, id, md.Bottle, rj.ID+": "+rj.Reason)
			}
			for _, p := range pending {
				key := id + "/" + p.Request.ID
				if w.seen[key] {
					continue
				}
				w.seen[key] = true
				w.r.emit(EventRequest, id, md.Bottle, p.Request.ID+"\t"+p.Request.Reason)
			}
		}
		if dir.ResumeReady(md) && !w.failedOn(id, dir.DockerfileHash()) {
			w.start(ctx, id)
		}
	}
}

func (w *watcher) start(ctx context.Context, id string) {
	w.mu.Lock()
	if w.inflight[id] {
		w.mu.Unlock()
		return
	}
	w.inflight[id] = true
	w.mu.Unlock()
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		defer func() {
			w.mu.Lock()
			delete(w.inflight, id)
			w.mu.Unlock()
		}()
		// A bottle approved again while this watch ran it is ready again
		// the moment its session closes: go round without waiting for the
		// next scan.
		for ctx.Err() == nil {
			hash := ""
			if dir, derr := w.r.Home.Dir(id); derr == nil {
				hash = dir.DockerfileHash()
			}
			err := w.resume(ctx, id)
			if err != nil {
				if !errors.Is(err, ErrNotReady) && ctx.Err() == nil {
					w.mu.Lock()
					w.failed[id] = hash
					w.mu.Unlock()
					w.r.emit(EventWatchError, id, "", err.Error()+" (the state is kept; fix the cause and run bottle resume "+id+")")
				}
				return
			}
			if !w.ready(id) {
				return
			}
		}
	}()
}

// report reports whether err is new for id: a recovery that keeps failing
// is reported once, not on every scan.
func (w *watcher) report(id string, err error) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	key := "recover " + id
	if w.failed[key] == err.Error() {
		return false
	}
	w.failed[key] = err.Error()
	return true
}

func (w *watcher) failedOn(id, hash string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	h, ok := w.failed[id]
	return ok && h == hash
}

func (w *watcher) ready(id string) bool {
	dir, err := w.r.Home.Dir(id)
	if err != nil {
		return false
	}
	md, err := dir.ReadMetadata()
	return err == nil && dir.ResumeReady(md)
}

func (w *watcher) resume(ctx context.Context, id string) error {
	dir, err := w.r.Home.Dir(id)
	if err != nil {
		return err
	}
	// Capped and rotated: the agent decides how much it prints.
	log, err := dir.OpenAgentLog(state.MaxAgentLogSize)
	if err != nil {
		return err
	}
	defer log.Close()
	var out io.Writer = log
	if w.opts.Output != nil {
		out = io.MultiWriter(log, w.opts.Output(id))
	}
	_, err = w.r.Resume(ctx, id, ResumeOptions{IO: backend.IO{Stdout: out, Stderr: out}, OnlyIfReady: true})
	return err
}
