package runner_test

import (
	"encoding/json"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bottle-dev/bottle/backend"
	"github.com/bottle-dev/bottle/backend/fake"
	"github.com/bottle-dev/bottle/runner"
	"github.com/bottle-dev/bottle/runner/state"
)

// pending waits until identity has n pending requests and returns them.
func (e *env) pending(identity string, n int) []runner.PendingRequest {
	e.t.Helper()
	var mine []runner.PendingRequest
	waitFor(e.t, "pending requests", func() bool {
		all, err := e.r.Requests(e.t.Context())
		if err != nil {
			e.t.Fatal(err)
		}
		mine = slices.DeleteFunc(all, func(p runner.PendingRequest) bool { return p.Identity != identity })
		return len(mine) == n
	})
	return mine
}

func readAnswer(t *testing.T, d *state.Dir, id string) state.Answer {
	t.Helper()
	var a state.Answer
	data, err := os.ReadFile(d.Join(state.QueueDir, id+".answer.json"))
	if err == nil {
		err = json.Unmarshal(data, &a)
	}
	if err != nil {
		t.Fatalf("answer %s: %v", id, err)
	}
	return a
}

// TestApproveOrder checks the approval's steps happen in the order that
// makes the loop safe: the recorded intent, the stop, snapshots, then the
// preserve marker, then the teardown, and the per-bottle Dockerfile last.
func TestApproveOrder(t *testing.T) {
	e := newEnv(t, copyHCL(""))
	e.project()
	e.docker.SetAgent(baseImage, blockingAgent("req-1"))
	ch := e.applyAsync("b")
	id := e.onlyIdentity()
	e.pending(id, 1)
	d := e.stateDir(id)

	var mu sync.Mutex
	var problems []string
	check := func(ok bool, what string) {
		if !ok {
			mu.Lock()
			problems = append(problems, what)
			mu.Unlock()
		}
	}
	e.docker.Hook(fake.OpCopyOut, func(fake.Call) error {
		check(!d.IsPreserved(), "preserved before the snapshot")
		check(d.HasIntent(), "the approval is not recorded before the snapshot")
		check(slices.Contains(auditEvents(t, d), "approval"), "approval not audited before the snapshot")
		check(e.docker.Instance(id).State() != backend.StateRunning, "the snapshot is taken from a running bottle")
		return nil
	})
	var removedAt time.Time
	var once sync.Once
	e.docker.Hook(fake.OpRemove, func(c fake.Call) error {
		once.Do(func() { // the approval's teardown; the session's own comes after
			removedAt = c.Time
			check(exists(d.Join(state.TranscriptDir, "log.txt")), "no transcript snapshot at teardown")
			check(exists(d.Join(state.WorkspaceDir, "main.go")), "no workspace snapshot at teardown")
			check(d.IsPreserved(), "not preserved at teardown")
			check(slices.Contains(auditEvents(t, d), "approval"), "approval not audited at teardown")
			check(exists(d.Join(state.QueueDir, "req-1.answer.json")), "not answered at teardown")
			check(!d.HasDockerfile(), "the Dockerfile exists at teardown")
			check(d.HasIntent(), "the intent is gone at teardown")
		})
		return nil
	})

	ap, err := e.r.Approve(t.Context(), id, "", runner.ApproveOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Error(p)
	}
	if ap.Identity != id || ap.Request.ID != "req-1" || ap.Dockerfile != d.DockerfilePath() || ap.WatchRunning {
		t.Errorf("approval %+v", ap)
	}
	fi, err := os.Stat(d.DockerfilePath())
	if err != nil || fi.ModTime().Before(removedAt.Add(-10*time.Millisecond)) {
		t.Errorf("Dockerfile %v written before the teardown at %v (%v)", fi, removedAt, err)
	}
	want := "# Per-bottle Dockerfile of " + id + ", written by bottle approve.\nFROM bottle/" + id + ":base\n\n# req-1: need req-1\nRUN echo req-1 > /req-1\n"
	if got, _ := d.ReadDockerfile(); got != want {
		t.Errorf("Dockerfile:\n%s\nwant:\n%s", got, want)
	}
	// The labelled base the Dockerfile starts from: the image the bottle
	// ran on, with the identity's labels, so the resume builds only the
	// approved lines.
	builds := e.docker.Builds()
	if len(builds) != 1 || builds[0].Ref != "bottle/"+id+":base" || builds[0].Content != "FROM busybox:latest\n" ||
		builds[0].Labels[backend.LabelHome] != e.home.ID() || builds[0].Labels[backend.LabelIdentity] != id {
		t.Errorf("builds of the approval %+v, want bottle/%s:base FROM busybox:latest with the identity's labels", builds, id)
	}
	if a := readAnswer(t, d, "req-1"); a.Status != state.AnswerApproved {
		t.Errorf("answer %+v", a)
	}
	var ops []fake.Op
	for _, c := range e.docker.Calls(fake.OpCopyOut, fake.OpRemove) {
		ops = append(ops, c.Op)
	}
	if len(ops) < 3 || !slices.Equal(ops[:3], []fake.Op{fake.OpCopyOut, fake.OpCopyOut, fake.OpRemove}) {
		t.Errorf("calls %v: want both snapshots before the teardown", ops)
	}

	// The attached session ends preserved, and keeps its state.
	r := wait(t, ch)
	if r.err != nil || !r.res.Preserved || r.res.ExitCode != 137 {
		t.Errorf("attached apply after approval = %+v, %v; want preserved, killed (137)", r.res, r.err)
	}
	if !d.Exists() || !d.IsPreserved() || !d.HasDockerfile() {
		t.Error("the approved bottle's state was not kept")
	}
	if got := e.events.of(runner.EventPreserved, id); !slices.Equal(got, []string{"bottle resume " + id}) {
		t.Errorf("preserved events %q", got)
	}
	if got := e.events.of(runner.EventApproved, id); !slices.Equal(got, []string{"req-1"}) {
		t.Errorf("approved events %q", got)
	}
	if log, err := os.ReadFile(d.Join(state.TranscriptDir, "log.txt")); err != nil || !strings.HasPrefix(string(log), "launch ") {
		t.Errorf("transcript snapshot %q, %v", log, err)
	}
	if got := runner.ApprovalStatus(ap); !strings.Contains(got, "bottle resume "+id) {
		t.Errorf("ApprovalStatus = %q", got)
	}
}

func TestDeny(t *testing.T) {
	e := newEnv(t, basicHCL)
	e.docker.SetAgent(baseImage, blockingAgent("req-1"))
	e.applyAsync("b")
	id := e.onlyIdentity()
	e.pending(id, 1)
	req, err := e.r.Deny(t.Context(), id, "req-1", "not today")
	if err != nil || req.ID != "req-1" {
		t.Fatalf("Deny = %+v, %v", req, err)
	}
	d := e.stateDir(id)
	if a := readAnswer(t, d, "req-1"); a.Status != state.AnswerDenied || a.Reason != "not today" {
		t.Errorf("answer %+v", a)
	}
	// The bottle keeps running: nothing torn down, nothing preserved.
	if in := e.docker.Instance(id); in.State() != backend.StateRunning || len(e.docker.Calls(fake.OpRemove)) != 0 {
		t.Error("a denial touched the running bottle")
	}
	if d.IsPreserved() || d.HasDockerfile() || !slices.Contains(auditEvents(t, d), "denial") {
		t.Error("a denial preserved the bottle or was not audited")
	}
	e.pending(id, 0)
}

func TestApproveNeedsARequestID(t *testing.T) {
	e := newEnv(t, basicHCL)
	e.docker.SetAgent(baseImage, blockingAgent("req-a", "req-b"))
	e.applyAsync("b")
	id := e.onlyIdentity()
	e.pending(id, 2)
	_, err := e.r.Approve(t.Context(), id, "", runner.ApproveOptions{})
	if err == nil || !strings.Contains(err.Error(), "req-a") || !strings.Contains(err.Error(), "req-b") {
		t.Fatalf("Approve with two pending and no id = %v; want an error naming both", err)
	}
	d := e.stateDir(id)
	if d.IsPreserved() || len(e.docker.Calls(fake.OpRemove)) != 0 {
		t.Error("an ambiguous approval changed something")
	}
	if _, err := e.r.Approve(t.Context(), id, "req-x", runner.ApproveOptions{}); err == nil {
		t.Error("approving an unknown request: no error")
	}
	if _, err := e.r.Approve(t.Context(), id, "req-b", runner.ApproveOptions{}); err != nil {
		t.Fatalf("Approve req-b: %v", err)
	}
	if got, _ := d.ReadDockerfile(); !strings.Contains(got, "RUN echo req-b") || strings.Contains(got, "req-a") {
		t.Errorf("Dockerfile %q: want only req-b's line", got)
	}
}

func TestApproveGoneBottle(t *testing.T) {
	e := newEnv(t, basicHCL)
	e.docker.SetAgent(baseImage, blockingAgent("req-1"))
	opts := e.launchOpts("b")
	opts.Detach = true
	res, err := e.r.Apply(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	e.pending(res.Identity, 1)
	if err := e.docker.Remove(t.Context(), "bottle-"+res.Identity); err != nil {
		t.Fatal(err)
	}
	if _, err := e.r.Approve(t.Context(), res.Identity, "", runner.ApproveOptions{}); err == nil || !strings.Contains(err.Error(), "bottle deny") {
		t.Errorf("approving for a gone bottle = %v; want an error that points at deny", err)
	}
	if d := e.stateDir(res.Identity); d.IsPreserved() || d.HasDockerfile() {
		t.Error("a failed approval preserved the state")
	}
}

// TestConcurrentApprovalsLoseNothing: two approvals of one identity at once
// are answered one after the other, so none is lost: every approval that
// succeeds has its lines in the per-bottle Dockerfile, and the other says
// the bottle is gone and leaves its request pending.
func TestConcurrentApprovalsLoseNothing(t *testing.T) {
	e := newEnv(t, basicHCL)
	e.docker.SetAgent(baseImage, blockingAgent("req-a", "req-b"))
	e.applyAsync("b")
	id := e.onlyIdentity()
	e.pending(id, 2)
	// A slow snapshot keeps both approvals in flight together.
	e.docker.Hook(fake.OpCopyOut, func(fake.Call) error {
		time.Sleep(50 * time.Millisecond)
		return nil
	})
	var wg sync.WaitGroup
	errs := map[string]error{}
	var mu sync.Mutex
	for _, req := range []string{"req-a", "req-b"} {
		wg.Go(func() {
			_, err := e.r.Approve(t.Context(), id, req, runner.ApproveOptions{})
			mu.Lock()
			errs[req] = err
			mu.Unlock()
		})
	}
	wg.Wait()
	d := e.stateDir(id)
	dockerfile, _ := d.ReadDockerfile()
	ok := 0
	for req, err := range errs {
		if err != nil {
			if !strings.Contains(err.Error(), "the bottle is gone") {
				t.Errorf("approve %s: %v", req, err)
			}
			if _, rerr := d.PendingRequest(req); rerr != nil {
				t.Errorf("the refused approval's request %s is no longer pending: %v", req, rerr)
			}
			continue
		}
		ok++
		if !strings.Contains(dockerfile, "RUN echo "+req) {
			t.Errorf("approval of %s succeeded but the Dockerfile lacks its line:\n%s", req, dockerfile)
		}
	}
	if ok != 1 {
		t.Errorf("%d approvals succeeded (%v), want 1", ok, errs)
	}
}
