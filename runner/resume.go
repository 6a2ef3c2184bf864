package runner

import (
	"context"
	"errors"
	"fmt"

	"github.com/bottle-dev/bottle/backend"
	"github.com/bottle-dev/bottle/config"
	"github.com/bottle-dev/bottle/runner/state"
)

// ResumeOptions says how to relaunch a preserved identity.
type ResumeOptions struct {
	Detach bool
	IO     backend.IO
	TTY    bool
	// Load reads the bottle.hcl recorded in metadata; nil uses config.Load
	// with the recorded --var values.
	Load func(path string, vars map[string]string) (*config.Config, error)
	// OnlyIfReady (bottle watch) waits for the owner and then resumes only
	// when an approval finished since the last launch (state.ResumeReady);
	// otherwise Resume returns ErrNotReady. This is what keeps an identity
	// from being resumed twice.
	OnlyIfReady bool
}

// ErrNotReady means an OnlyIfReady resume found nothing new to resume.
var ErrNotReady = errors.New("not ready to resume")

// ErrAlreadyRunning means the identity is running; it is never resumed twice.
var ErrAlreadyRunning = errors.New("already running")

// Resume relaunches identity pinned to its identity, on the backend its
// metadata records (no metadata backend means docker), with the per-bottle
// Dockerfile, the transcript and workspace snapshots, resume_command and
// BOTTLE_RESUMED=1.
func (r *Runner) Resume(ctx context.Context, identity string, opts ResumeOptions) (*LaunchResult, error) {
	dir, err := r.Home.Open(identity)
	if err != nil {
		return nil, err
	}
	lock, err := r.Home.TryLockOwner(identity)
	if errors.Is(err, state.ErrLocked) && opts.OnlyIfReady {
		lock, err = r.Home.LockOwner(ctx, identity)
	} else if errors.Is(err, state.ErrLocked) {
		if running, _ := r.running(ctx, dir); running {
			return nil, fmt.Errorf("resume %s: %w (bottle logs %s follows it)", identity, ErrAlreadyRunning, identity)
		}
		// Another process owns it and is making its cleanup decision:
		// wait for that decision rather than race it.
		lock, err = r.Home.LockOwner(ctx, identity)
	}
	if err != nil {
		return nil, err
	}
	defer lock.Unlock()
	if opts.OnlyIfReady && !dir.Exists() {
		return nil, ErrNotReady
	}
	if !dir.Exists() {
		return nil, fmt.Errorf("resume %s: its state was removed when its last session ended (only a capability approval preserves it)", identity)
	}
	// An approval a killed process left behind is finished (or rolled
	// back) before anything is decided from the state (approval.go).
	if err := r.recoverLocked(ctx, dir); err != nil {
		return nil, fmt.Errorf("resume %s: %w", identity, err)
	}
	md, err := dir.ReadMetadata()
	if err != nil {
		return nil, fmt.Errorf("resume %s: %w", identity, err)
	}
	if opts.OnlyIfReady && !dir.ResumeReady(md) {
		return nil, ErrNotReady
	}
	be, err := r.backend(md.BackendName())
	if err != nil {
		return nil, err
	}
	if inst, err := be.Inspect(ctx, backend.InstanceName(identity)); err == nil {
		if inst.State == backend.StateRunning {
			return nil, fmt.Errorf("resume %s: %w", identity, ErrAlreadyRunning)
		}
		if err := removeInstance(ctx, be, dir, inst.ID); err != nil {
			return nil, fmt.Errorf("resume %s: remove the previous instance: %w", identity, err)
		}
	} else if errors.Is(err, backend.ErrNotFound) {
		// What an interrupted teardown left (an egress proxy and its
		// report, a network) goes the same way, before Create replaces it.
		if err := removeInstance(ctx, be, dir, backend.InstanceName(identity)); err != nil {
			return nil, fmt.Errorf("resume %s: remove what the previous instance left: %w", identity, err)
		}
	} else {
		return nil, fmt.Errorf("resume %s: %w", identity, err)
	}
	load := opts.Load
	if load == nil {
		load = func(path string, vars map[string]string) (*config.Config, error) {
			return loadWithVarFile(path, vars, md.VarFile)
		}
	}
	cfg, err := load(md.ConfigPath, md.Vars)
	if err != nil {
		return nil, fmt.Errorf("resume %s: %w", identity, err)
	}
	b := cfg.Bottle(md.Bottle)
	if b == nil {
		return nil, fmt.Errorf("resume %s: %s no longer declares bottle %q", identity, md.ConfigPath, md.Bottle)
	}
	md.Backend = be.Name()
	s := &session{cfg: cfg, bottle: b, dir: dir, meta: md, be: be, resumed: true}
	r.emit(EventResume, identity, b.Name, be.Name())
	return r.run(ctx, s, LaunchOptions{Config: cfg, Bottle: b, Vars: md.Vars, Detach: opts.Detach, IO: opts.IO, TTY: opts.TTY})
}

// recoverLocked recovers an approval of dir left behind, waiting for the
// answer lock (an approval in flight ends first).
func (r *Runner) recoverLocked(ctx context.Context, dir *state.Dir) error {
	if !dir.HasIntent() {
		return nil
	}
	lock, err := r.Home.LockAnswer(ctx, dir.Identity)
	if err != nil {
		return err
	}
	defer lock.Unlock()
	if _, err := r.recoverApproval(ctx, dir); err != nil && !errors.Is(err, errApprovalRolledBack) {
		return err
	}
	return nil
}

// running reports whether the identity's instance runs, per its metadata's
// backend.
func (r *Runner) running(ctx context.Context, dir *state.Dir) (bool, error) {
	md, err := dir.ReadMetadata()
	if err != nil {
		return false, err
	}
	be, err := r.backend(md.BackendName())
	if err != nil {
		return false, err
	}
	inst, err := be.Inspect(ctx, backend.InstanceName(dir.Identity))
	if err != nil {
		return false, err
	}
	return inst.State == backend.StateRunning, nil
}
