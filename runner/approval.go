package runner

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/bottle-dev/bottle/backend"
	"github.com/bottle-dev/bottle/runner/state"
)

// An approval is a transaction over the state dir and the backend
// (DESIGN: the approval is exactly what the operator saw, and nothing
// interrupts it into a lost state). Its steps, each one idempotent:
//
//	intent      record the decision and the frozen lines (state.Intent)
//	stop        stop the bottle, so that the snapshot sees its last write
//	            whole (on backends that read a stopped bottle as it is)
//	snapshot    transcript, and the workspace in copy mode
//	snapshotted record that the bottle's data is out
//	preserve    the marker that keeps the state dir past the session
//	answer      tell the agent, and settle the frozen request
//	teardown    remove the instance (and make the labelled base image)
//	dockerfile  write the per-bottle Dockerfile
//	done        clear the intent
//
// Invariant: every step runs under the identity's answer lock, and so
// does the session's cleanup decision (cleanup.go), resume and the watch's
// and gc's recovery: no two of them interleave. Whoever takes the lock and
// finds an intent finishes it (finishApproval). Before "snapshotted" an
// approval whose bottle is gone is rolled back: the request stays pending.
// From "snapshotted" on it only goes forward. So an identity is either
// still pending or fully approved, never answered without a Dockerfile.

// killAtEnv names the approval step at which the process kills itself
// with SIGKILL: the end-to-end tests' way to interrupt an approval
// anywhere. It is read only when set.
const killAtEnv = "BOTTLE_TEST_KILL_AT"

// step marks that the approval of identity reached name; a test fault
// (Runner.fault, BOTTLE_TEST_KILL_AT) may stop it there.
func (r *Runner) step(identity, name string) error {
	if at := os.Getenv(killAtEnv); at != "" && at == name {
		_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {} // the signal is on its way
	}
	if r.fault != nil {
		if err := r.fault(identity, name); err != nil {
			return fmt.Errorf("approval step %s: %w", name, err)
		}
	}
	return nil
}

// ErrApprovalInterrupted means an approval stopped part way; the state
// keeps its record and the next approve, deny, resume, watch or gc, or the
// session's end, finishes it.
var ErrApprovalInterrupted = errors.New("the approval did not finish")

// finishApproval takes the recorded approval in (of dir, whose metadata
// is md) from its recorded step to the end. The caller holds the answer
// lock. When the bottle went away before its data came out, the approval
// is rolled back and errApprovalRolledBack returned; so it is when the
// bottle cannot be stopped.
func (r *Runner) finishApproval(ctx context.Context, dir *state.Dir, md *state.Metadata, in *state.Intent) (*Approval, error) {
	id := dir.Identity
	be, err := r.backend(md.BackendName())
	if err != nil {
		return nil, err
	}
	fail := func(step string, err error) (*Approval, error) {
		_ = dir.Audit("approval_interrupted", map[string]string{"request": in.Request.ID, "step": step, "error": err.Error()})
		return nil, fmt.Errorf("approve %s %s: %w at %s: %w (the state is kept: bottle approve %s retries it)", id, in.Request.ID, ErrApprovalInterrupted, step, err, id)
	}
	if in.Step == state.StepRecorded {
		inst, err := be.Inspect(ctx, backend.InstanceName(id))
		if errors.Is(err, backend.ErrNotFound) {
			return nil, r.rollBack(dir, in, "the bottle is gone, so nothing can be carried over")
		}
		// Until the bottle is stopped nothing is lost by undoing: an
		// error rolls back, and the request stays pending.
		if err == nil {
			err = r.step(id, "stop")
		}
		sr, stops := be.(backend.HaltedReader)
		stops = stops && sr.ReadsHalted()
		if err == nil && stops {
			// Stopped, not paused: the agent gets its SIGTERM and the
			// snapshot then sees whatever it last wrote, whole.
			err = be.Halt(ctx, inst.ID)
		}
		if err != nil {
			return nil, errors.Join(r.rollBack(dir, in, "the bottle could not be stopped: "+err.Error()), err)
		}
		// A backend that cannot read a stopped bottle (smolvm boots it
		// again, agent and all) is snapshotted running; a failure there
		// still leaves the bottle running, so it rolls back too.
		snapFail := func(err error) (*Approval, error) {
			if stops {
				return fail("snapshot", err)
			}
			return nil, errors.Join(r.rollBack(dir, in, "the snapshot failed: "+err.Error()), err)
		}
		if err := r.step(id, "snapshot"); err != nil {
			return snapFail(err)
		}
		if md.Spec != nil && md.Spec.Transcript != "" {
			if err := snapshot(ctx, be, inst.ID, md.Spec.Transcript, dir, state.TranscriptDir); err != nil {
				return snapFail(err)
			}
		}
		if md.CopyCwd && md.Spec != nil && md.Spec.CwdTarget != "" {
			if err := snapshot(ctx, be, inst.ID, md.Spec.CwdTarget, dir, state.WorkspaceDir); err != nil {
				return snapFail(err)
			}
		}
		in.Step = state.StepSnapshotted
		if err := dir.WriteIntent(in); err != nil {
			return fail("snapshotted", err)
		}
		if err := r.step(id, "snapshotted"); err != nil {
			return fail("snapshotted", err)
		}
	}
	if err := dir.MarkPreserved(); err != nil {
		return fail("preserve", err)
	}
	if err := r.step(id, "preserve"); err != nil {
		return fail("preserve", err)
	}
	fr, err := dir.FrozenRequest(in.Request.ID)
	if err != nil {
		// Only a hand edit removes a record under an intent; the intent
		// has everything the answer needs.
		fr = &state.Frozen{Request: in.Request, Digest: in.Digest, FrozenAt: in.At}
	}
	if err := dir.Answer(fr, state.AnswerApproved, "the bottle is rebuilt with it and resumed"); err != nil {
		return fail("answer", err)
	}
	if err := r.step(id, "answer"); err != nil {
		return fail("answer", err)
	}
	// The first approval also gives the identity a labelled base image,
	// made while the bottle is torn down: the resume then builds only the
	// approved lines.
	base := in.Base
	labelled := make(chan string, 1)
	go func() {
		if base == "" {
			labelled <- ""
			return
		}
		labelled <- r.labelledBase(ctx, be, id, base)
	}()
	rerr := removeInstance(ctx, be, dir, backend.InstanceName(id))
	if lb := <-labelled; lb != "" {
		base = lb
	}
	if rerr != nil && !errors.Is(rerr, backend.ErrNotFound) {
		return fail("teardown", rerr)
	}
	_ = dir.Audit("teardown", map[string]string{"reason": "capability approved"})
	if err := r.step(id, "teardown"); err != nil {
		return fail("teardown", err)
	}
	// Written from the Dockerfile the approval started from, so that a
	// repeat writes the same file rather than appending twice.
	if err := dir.WriteDockerfile([]byte(nextDockerfile(id, in.Prev, base, in.Request))); err != nil {
		return fail("dockerfile", err)
	}
	if err := r.step(id, "dockerfile"); err != nil {
		return fail("dockerfile", err)
	}
	if err := dir.ClearIntent(); err != nil {
		return fail("done", err)
	}
	_ = dir.Audit("approved", map[string]string{"request": in.Request.ID, "digest": in.Digest})
	r.emit(EventApproved, id, md.Bottle, in.Request.ID)
	return &Approval{Identity: id, Request: in.Request, Digest: in.Digest, Dockerfile: dir.DockerfilePath(), WatchRunning: r.Home.WatchRunning()}, nil
}

// errApprovalRolledBack means an interrupted approval was undone: its
// request is pending again.
var errApprovalRolledBack = errors.New("the approval was rolled back")

// rollBack undoes an approval that did nothing irreversible yet (the
// bottle's data did not come out): the request stays pending.
func (r *Runner) rollBack(dir *state.Dir, in *state.Intent, why string) error {
	if err := dir.ClearPreserved(); err != nil {
		return err
	}
	if err := dir.ClearIntent(); err != nil {
		return err
	}
	_ = dir.Audit("approval_rolled_back", map[string]string{"request": in.Request.ID, "reason": why})
	return fmt.Errorf("approve %s %s: %s (bottle deny %s %s answers the agent): %w", dir.Identity, in.Request.ID, why, dir.Identity, in.Request.ID, errApprovalRolledBack)
}

// recoverApproval finishes (or rolls back) an approval of dir that a
// killed or failed process left behind. The caller holds the answer lock.
// It returns the finished approval, nil when there was none.
func (r *Runner) recoverApproval(ctx context.Context, dir *state.Dir) (*Approval, error) {
	in, err := dir.ReadIntent()
	if err != nil || in == nil {
		return nil, err
	}
	md, err := dir.ReadMetadata()
	if err != nil {
		return nil, err
	}
	_ = dir.Audit("approval_resumed", map[string]string{"request": in.Request.ID, "step": in.Step})
	return r.finishApproval(ctx, dir, md, in)
}

// recoverIdle recovers an approval of dir left behind, unless an approval
// or a cleanup decision is under way (its answer lock is held): the watch
// and gc call it on every identity they look at.
func (r *Runner) recoverIdle(ctx context.Context, dir *state.Dir) error {
	if !dir.HasIntent() {
		return nil
	}
	lock, err := r.Home.TryLockAnswer(dir.Identity)
	if errors.Is(err, state.ErrLocked) {
		return nil
	}
	if err != nil {
		return err
	}
	defer lock.Unlock()
	_, err = r.recoverApproval(ctx, dir)
	if errors.Is(err, errApprovalRolledBack) {
		return nil
	}
	return err
}

// newIntent is the record of the operator's decision to approve fr.
func newIntent(fr *state.Frozen, md *state.Metadata, prev string) *state.Intent {
	in := &state.Intent{Request: fr.Request, Digest: fr.Digest, By: operator(), Step: state.StepRecorded, Prev: prev, At: time.Now().UTC()}
	if prev == "" {
		in.Base = firstBase(md)
	}
	return in
}

// linesOf is the approved lines as the audit log keeps them.
func linesOf(req *state.Request) string { return strings.Join(req.Dockerfile, "\n") }
