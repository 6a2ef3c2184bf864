package runner

import (
	"context"
	"errors"
	"time"

	"github.com/bottle-dev/bottle/backend"
	"github.com/bottle-dev/bottle/runner/state"
)

// A backend whose bottles hold their own copy of the queue
// (backend.QueueSyncer: kubernetes) is mirrored by polling: the watch polls
// each running bottle every queuePollMin after a change, backing off by
// doubling to queuePollMax while nothing changes (so a request the agent
// files is on the host within queuePollMax plus one exec round trip), and
// to queuePollFail after errors. bottle requests and the dashboard sync
// once per listing.
const (
	queuePollMin  = 250 * time.Millisecond
	queuePollMax  = time.Second
	queuePollFail = 15 * time.Second
	// queueQuiet is how long the watch leaves a bottle whose agent ended
	// (its Pod kept for a snapshot) before looking again.
	queueQuiet = 30 * time.Second
	// queueSyncOnce bounds the sync of one listing.
	queueSyncOnce = 10 * time.Second
)

// queueSyncer returns the QueueSyncer of the backend dir's bottle runs on,
// or nil when its backend shares the host's queue directory (or the bottle
// has no instance to sync with: it is preserved, its Pod gone).
func (r *Runner) queueSyncer(dir *state.Dir) backend.QueueSyncer {
	if dir.IsPreserved() {
		return nil
	}
	md, err := dir.ReadMetadata()
	if err != nil {
		return nil
	}
	return r.queueSyncerOf(md.BackendName())
}

// queueSyncerOf returns the QueueSyncer of the backend name, or nil.
func (r *Runner) queueSyncerOf(name string) backend.QueueSyncer {
	b, err := r.backend(name)
	if err != nil {
		return nil
	}
	qs, _ := b.(backend.QueueSyncer)
	return qs
}

// syncQueueOnce mirrors the queue of dir's bottle, which runs on the
// backend backendName, once when that backend needs it. A bottle without an instance has nothing to mirror.
func (r *Runner) syncQueueOnce(ctx context.Context, dir *state.Dir, backendName string) error {
	qs := r.queueSyncerOf(backendName)
	if qs == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, queueSyncOnce)
	defer cancel()
	_, err := qs.SyncQueue(ctx, backend.InstanceName(dir.Identity), dir.QueuePath())
	if errors.Is(err, backend.ErrNotFound) {
		return nil
	}
	return err
}

// pollQueue mirrors the queue of bottle id (on qs) until ctx is done, the
// bottle is gone, or its agent has ended. What it writes into the host
// queue reaches the watch through its file events. It reports a failure
// once, not at every poll.
func (w *watcher) pollQueue(ctx context.Context, id string, dir *state.Dir, qs backend.QueueSyncer) {
	defer func() {
		w.mu.Lock()
		delete(w.polling, id)
		w.mu.Unlock()
	}()
	interval := queuePollMin
	lastErr := ""
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		res, err := qs.SyncQueue(ctx, backend.InstanceName(id), dir.QueuePath())
		switch {
		case errors.Is(err, backend.ErrNotFound):
			return
		case err != nil:
			if ctx.Err() != nil {
				return
			}
			if err.Error() != lastErr {
				lastErr = err.Error()
				w.r.emit(EventWarning, id, "", err.Error())
			}
			interval = min(max(interval, queuePollMax)*2, queuePollFail)
		case res.Ended:
			w.mu.Lock()
			w.quietUntil[id] = time.Now().Add(queueQuiet)
			w.mu.Unlock()
			return
		case res.Copied > 0:
			lastErr, interval = "", queuePollMin
		default:
			lastErr, interval = "", min(interval*2, queuePollMax)
		}
		t.Reset(interval)
	}
}

// mirrorQueue starts polling the queue of id when its backend needs it and
// nothing polls it yet: not this watch's own resumed run (its Run mirrors),
// not a bottle that recently reported its agent ended.
func (w *watcher) mirrorQueue(ctx context.Context, id string, dir *state.Dir) {
	qs := w.r.queueSyncer(dir)
	if qs == nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.polling[id] || w.inflight[id] || time.Now().Before(w.quietUntil[id]) {
		return
	}
	w.polling[id] = true
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		w.pollQueue(ctx, id, dir, qs)
	}()
}
