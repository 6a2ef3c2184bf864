package runner

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/bottle-dev/bottle/backend"
	"github.com/bottle-dev/bottle/runner/state"
)

// Bottle states as status shows them.
const (
	StatusRunning   = "running"
	StatusExited    = "exited"
	StatusPreserved = "preserved"
	StatusCreated   = "created"
	StatusError     = "error"
)

// BottleStatus is one identity as bottle ls shows it.
type BottleStatus struct {
	Identity        string    `json:"identity"`
	Bottle          string    `json:"bottle"`
	Agent           string    `json:"agent"`
	Backend         string    `json:"backend"`
	State           string    `json:"state"`
	StartedAt       time.Time `json:"started_at"`
	PendingRequests int       `json:"pending_requests"`
	// Error says why a state dir could not be read (State is "error").
	Error string `json:"error,omitempty"`
}

// Stop tears identity down. When no other process owns it, Stop also makes
// the cleanup decision (remove the state unless preserved); otherwise the
// owner makes it once its session has closed.
func (r *Runner) Stop(ctx context.Context, identity string) (preserved bool, err error) {
	dir, err := r.Home.Open(identity)
	if err != nil {
		return false, err
	}
	// An approval in flight ends first, and one left behind is finished:
	// its snapshot comes out of the instance stop removes (approval.go).
	if err := r.recoverLocked(ctx, dir); err != nil {
		return dir.IsPreserved(), fmt.Errorf("stop %s: %w", identity, err)
	}
	md, err := dir.ReadMetadata()
	if err != nil {
		return false, err
	}
	be, err := r.backend(md.BackendName())
	if err != nil {
		return false, err
	}
	// Recorded before the teardown: once the instance is gone, an owning
	// session removes the dir, and an append then would re-create a file
	// in it and make that removal fail.
	_ = dir.Audit("stop", map[string]string{"reason": "bottle stop"})
	// A copied workspace comes out before the bottle goes (keep.go); an
	// attached owner then finds it exported.
	if err := r.keepWork(ctx, dir, be, md.Bottle); err != nil {
		return dir.IsPreserved(), err
	}
	if err := removeInstance(ctx, be, dir, backend.InstanceName(identity)); err != nil {
		return false, fmt.Errorf("stop %s: %w", identity, err)
	}
	lock, err := r.Home.TryLockOwner(identity)
	if errors.Is(err, state.ErrLocked) {
		return dir.IsPreserved(), nil // the owner decides
	}
	if err != nil {
		return false, err
	}
	defer lock.Unlock()
	if dir.IsPreserved() {
		return true, nil
	}
	if err := dir.Remove(); err != nil {
		return false, err
	}
	dropImages(ctx, be, identity)
	return false, nil
}

// Destroy tears identity down and removes its state, preserved or not. It
// waits for an owning session to finish closing first.
func (r *Runner) Destroy(ctx context.Context, identity string) error {
	dir, err := r.Home.Open(identity)
	if err != nil {
		return err
	}
	be, err := r.backendOf(dir)
	if err != nil {
		return err
	}
	if err := removeInstance(ctx, be, dir, backend.InstanceName(identity)); err != nil {
		return fmt.Errorf("destroy %s: %w", identity, err)
	}
	lock, err := r.Home.LockOwner(ctx, identity)
	if err != nil {
		return err
	}
	defer lock.Unlock()
	if err := dir.Remove(); err != nil {
		return err
	}
	dropImages(ctx, be, identity)
	return nil
}
