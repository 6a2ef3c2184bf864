package runner_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bottle-dev/bottle/backend"
	"github.com/bottle-dev/bottle/backend/fake"
	"github.com/bottle-dev/bottle/runner"
	"github.com/bottle-dev/bottle/runner/state"
)

// approvalSteps are the steps an approval can be stopped at (approval.go).
var approvalSteps = []string{"intent", "stop", "snapshot", "snapshotted", "preserve", "answer", "teardown", "dockerfile"}

// faultOnce fails the first time the approval reaches step.
func faultOnce(step string) (func(identity, at string) error, *atomic.Bool) {
	var fired atomic.Bool
	return func(_, at string) error {
		if at == step && fired.CompareAndSwap(false, true) {
			return errors.New("injected fault")
		}
		return nil
	}, &fired
}

// checkApproved checks identity is fully approved once, for request id:
// answered, settled, Dockerfile with its line once, no intent, preserved.
func (e *env) checkApproved(d *state.Dir, id string) {
	e.t.Helper()
	df, _ := d.ReadDockerfile()
	if n := strings.Count(df, "RUN echo "+id+" > /"+id); n != 1 {
		e.t.Errorf("the Dockerfile has the approved line %d times:\n%s", n, df)
	}
	if !d.IsPreserved() || d.HasIntent() {
		e.t.Errorf("preserved %v, intent left %v", d.IsPreserved(), d.HasIntent())
	}
	if a := readAnswer(e.t, d, id); a.Status != state.AnswerApproved {
		e.t.Errorf("answer %+v", a)
	}
	if f, err := d.FrozenRequest(id); err != nil || f.Status != state.AnswerApproved {
		e.t.Errorf("frozen request %+v, %v", f, err)
	}
}

// TestApproveFaultAtEveryStep fails an approval at each of its steps while
// the attached session waits: the identity ends either still pending (the
// retry approves it) or finished by the session's cleanup decision, and
// never answered without a Dockerfile. The resume then runs the new image.
func TestApproveFaultAtEveryStep(t *testing.T) {
	for _, step := range approvalSteps {
		t.Run(step, func(t *testing.T) {
			e := newEnv(t, copyHCL(""))
			e.project()
			e.docker.SetAgent(baseImage, blockingAgent("req-1"))
			ch := e.applyAsync("b")
			id := e.onlyIdentity()
			e.pending(id, 1)
			d := e.stateDir(id)
			fault, fired := faultOnce(step)
			e.r.SetFault(fault)
			_, err := e.r.Approve(t.Context(), id, "req-1", runner.ApproveOptions{})
			if err == nil || !fired.Load() || !strings.Contains(err.Error(), "injected fault") {
				t.Fatalf("approve with a fault at %s = %v", step, err)
			}
			answered := exists(d.Join(state.QueueDir, "req-1.answer.json"))
			if answered && !d.HasIntent() && !d.HasDockerfile() {
				t.Fatal("answered, no Dockerfile, and nothing left to finish it")
			}
			// The retry finishes it, or finds the session finished it.
			ap, err := e.r.Approve(t.Context(), id, "req-1", runner.ApproveOptions{})
			if err != nil {
				t.Fatalf("retry after a fault at %s: %v", step, err)
			}
			if ap.Request.ID != "req-1" {
				t.Errorf("retry approved %+v", ap.Request)
			}
			r := wait(t, ch)
			if r.err != nil || !r.res.Preserved {
				t.Fatalf("the session after the approval: %+v, %v", r.res, r.err)
			}
			e.checkApproved(d, "req-1")
			e.docker.SetAgent("bottle/"+id, exitAgent(0))
			res, err := e.r.Resume(t.Context(), id, runner.ResumeOptions{OnlyIfReady: true})
			if err != nil || res.Preserved || d.Exists() {
				t.Fatalf("resume = %+v, %v; state left %v", res, err, d.Exists())
			}
			if left := liveInstances(t, e.docker); len(left) != 0 {
				t.Errorf("left running: %v", left)
			}
		})
	}
}

// TestApproveBackendFaults: a snapshot, stop or teardown the engine fails
// leaves the request pending or the approval recorded; the next approve
// completes it once the engine works.
func TestApproveBackendFaults(t *testing.T) {
	for _, op := range []fake.Op{fake.OpHalt, fake.OpCopyOut, fake.OpRemove} {
		t.Run(string(op), func(t *testing.T) {
			e := newEnv(t, basicHCL)
			e.docker.SetAgent(baseImage, blockingAgent("req-1"))
			opts := e.launchOpts("b")
			opts.Detach = true
			res, err := e.r.Apply(t.Context(), opts)
			if err != nil {
				t.Fatal(err)
			}
			id := res.Identity
			e.pending(id, 1)
			d := e.stateDir(id)
			e.docker.FailOn(op, errors.New("engine trouble"))
			if _, err := e.r.Approve(t.Context(), id, "req-1", runner.ApproveOptions{}); err == nil {
				t.Fatalf("approve with %s failing succeeded", op)
			}
			if d.HasDockerfile() {
				t.Fatal("a Dockerfile after a failed approval")
			}
			pending, _ := d.PendingRequests()
			if len(pending) != 1 && !d.HasIntent() {
				t.Fatalf("neither pending (%d) nor recorded", len(pending))
			}
			e.docker.FailOn(op, nil)
			if _, err := e.r.Approve(t.Context(), id, "req-1", runner.ApproveOptions{}); err != nil {
				t.Fatalf("approve once the engine works: %v", err)
			}
			e.checkApproved(d, "req-1")
		})
	}
}

// TestGoneBottleRollsBack: an approval recorded before its bottle went away
// (a killed approve, then the engine lost the container) is rolled back by
// the next command: the request is pending again and nothing is preserved.
func TestGoneBottleRollsBack(t *testing.T) {
	e := newEnv(t, basicHCL)
	e.docker.SetAgent(baseImage, blockingAgent("req-1"))
	opts := e.launchOpts("b")
	opts.Detach = true
	res, err := e.r.Apply(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	id := res.Identity
	f := e.pending(id, 1)[0]
	d := e.stateDir(id)
	if err := d.WriteIntent(&state.Intent{Request: f.Request, Digest: f.Digest, Step: state.StepRecorded}); err != nil {
		t.Fatal(err)
	}
	if err := d.MarkPreserved(); err != nil {
		t.Fatal(err)
	}
	if err := e.docker.Remove(t.Context(), "bottle-"+id); err != nil {
		t.Fatal(err)
	}
	if _, err := e.r.Deny(t.Context(), id, "req-1", "changed my mind"); err != nil {
		t.Fatalf("deny after a rolled back approval: %v", err)
	}
	if d.HasIntent() || d.IsPreserved() || d.HasDockerfile() {
		t.Errorf("intent %v preserved %v Dockerfile %v", d.HasIntent(), d.IsPreserved(), d.HasDockerfile())
	}
	if a := readAnswer(t, d, "req-1"); a.Status != state.AnswerDenied {
		t.Errorf("answer %+v", a)
	}
	if ev := auditEvents(t, d); !strings.Contains(strings.Join(ev, " "), "approval_rolled_back") {
		t.Errorf("audit %q", ev)
	}
}

// TestApproveRacesAgentExitAndWatch: the agent exits by itself at any
// moment of an approval while a watch runs. Either the approval wins (the
// session keeps the state, the watch resumes it, the resumed agent ends
// and the state goes) or the session's cleanup wins (approve says the
// bottle is gone). Nothing is half done, nothing is left behind. Run it
// with -count=20.
func TestApproveRacesAgentExitAndWatch(t *testing.T) {
	e := newEnv(t, strings.Replace(basicHCL, `transcript     = "/home/agent/.t"`, "", 1))
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	werr := make(chan error, 1)
	go func() { werr <- e.r.Watch(ctx, runner.WatchOptions{Rescan: 10 * time.Millisecond}) }()
	defer func() {
		cancel()
		if err := <-werr; err != nil {
			t.Errorf("watch: %v", err)
		}
	}()
	for round := range 4 {
		exit := make(chan struct{})
		e.docker.SetAgent(baseImage, func(ctx context.Context, in *fake.Instance, io backend.IO) int {
			if in.Env("BOTTLE_RESUMED") == "1" {
				return 0 // the resumed agent finishes its work
			}
			if err := fileRequest(in, "req-1", "need req-1", "RUN echo req-1 > /req-1"); err != nil {
				return 91
			}
			select {
			case <-exit:
			case <-ctx.Done():
			}
			return 0
		})
		ch := e.applyAsync("b")
		var id string
		waitFor(t, "a launch", func() bool {
			ids, _, _ := e.home.Identities()
			if len(ids) == 1 {
				id = ids[0]
			}
			return id != ""
		})
		e.pending(id, 1)
		d := e.stateDir(id)
		approved := make(chan error, 1)
		jitter := func() { time.Sleep(time.Duration(rand.IntN(2000)) * time.Microsecond) }
		go func() {
			jitter()
			_, err := e.r.Approve(t.Context(), id, "req-1", runner.ApproveOptions{})
			approved <- err
		}()
		jitter()
		close(exit)
		err := <-approved
		r := wait(t, ch)
		t.Logf("round %d: approve: %v", round, err)
		switch {
		case err == nil:
			if r.err != nil || !r.res.Preserved {
				t.Fatalf("round %d: approved, but the session ended %+v, %v", round, r.res, r.err)
			}
		case strings.Contains(err.Error(), "the bottle is gone"):
			if r.err != nil || r.res.Preserved {
				t.Fatalf("round %d: approval refused, but the session ended %+v, %v", round, r.res, r.err)
			}
		default:
			t.Fatalf("round %d: approve: %v", round, err)
		}
		// Approved: the watch resumes it and the resumed agent ends.
		// Refused: the session removed it. Either way it all goes.
		waitFor(t, "the state of "+id+" to go", func() bool { return !d.Exists() })
		waitFor(t, "no instance left", func() bool { return len(liveInstances(t, e.docker)) == 0 })
		if err == nil && creates(e.docker, id) != 2 {
			t.Errorf("round %d: %d launches of an approved bottle, want 2 (the watch's resume)", round, creates(e.docker, id))
		}
	}
}

// TestWatchResumesAfterAKilledResume: a resume that dies after its image
// is built but before its agent starts leaves the identity ready, and a
// watch resumes it.
func TestWatchResumesAfterAKilledResume(t *testing.T) {
	e := newEnv(t, strings.Replace(basicHCL, `transcript     = "/home/agent/.t"`, "", 1))
	id := e.approved(e.docker)
	d := e.stateDir(id)
	e.docker.FailOn(fake.OpCreate, errors.New("killed before the container ran"))
	if _, err := e.r.Resume(t.Context(), id, runner.ResumeOptions{}); err == nil {
		t.Fatal("resume with Create failing succeeded")
	}
	e.docker.FailOn(fake.OpCreate, nil)
	md, err := d.ReadMetadata()
	if err != nil {
		t.Fatal(err)
	}
	if md.DockerfileHash == d.DockerfileHash() || !d.ResumeReady(md) {
		t.Fatalf("after a resume that never ran: metadata hash %q, ready %v", md.DockerfileHash, d.ResumeReady(md))
	}
	ran := make(chan struct{})
	e.docker.SetAgent(baseImage, func(ctx context.Context, in *fake.Instance, io backend.IO) int {
		close(ran)
		return 0
	})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	werr := make(chan error, 1)
	go func() { werr <- e.r.Watch(ctx, runner.WatchOptions{Rescan: 10 * time.Millisecond}) }()
	select {
	case <-ran:
	case <-time.After(10 * time.Second):
		t.Fatal("the watch did not resume the bottle a killed resume left")
	}
	waitFor(t, "the resumed session to end", func() bool { return !d.Exists() })
	cancel()
	if err := <-werr; err != nil {
		t.Errorf("watch: %v", err)
	}
}

// runningReader hides the fake's HaltedReader: a backend (like smolvm)
// that is snapshotted running.
type runningReader struct{ backend.Backend }

// TestSnapshotRunningBackend: on a backend that cannot read a stopped
// bottle the approval snapshots it running, never halts it, and a failed
// snapshot leaves the bottle running and the request pending.
func TestSnapshotRunningBackend(t *testing.T) {
	e := newEnv(t, basicHCL)
	e.r.Backend = func(string) (backend.Backend, error) { return runningReader{e.docker}, nil }
	e.docker.SetAgent(baseImage, blockingAgent("req-1"))
	ch := e.applyAsync("b")
	id := e.onlyIdentity()
	e.pending(id, 1)
	d := e.stateDir(id)
	e.docker.FailOn(fake.OpCopyOut, errors.New("engine trouble"))
	if _, err := e.r.Approve(t.Context(), id, "req-1", runner.ApproveOptions{}); err == nil {
		t.Fatal("approve with a failing snapshot succeeded")
	}
	if d.HasIntent() || d.IsPreserved() || e.docker.Instance(id).State() != backend.StateRunning {
		t.Fatalf("after a failed running snapshot: intent %v preserved %v state %v", d.HasIntent(), d.IsPreserved(), e.docker.Instance(id).State())
	}
	e.pending(id, 1)
	e.docker.FailOn(fake.OpCopyOut, nil)
	if _, err := e.r.Approve(t.Context(), id, "req-1", runner.ApproveOptions{}); err != nil {
		t.Fatal(err)
	}
	if n := len(e.docker.Calls(fake.OpHalt)); n != 0 {
		t.Errorf("%d Halt calls on a backend that is snapshotted running", n)
	}
	if r := wait(t, ch); r.err != nil || !r.res.Preserved {
		t.Fatalf("session %+v, %v", r.res, r.err)
	}
	e.checkApproved(d, "req-1")
}
