package runner_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/bottle-dev/bottle/backend"
	"github.com/bottle-dev/bottle/backend/fake"
	"github.com/bottle-dev/bottle/runner"
	"github.com/bottle-dev/bottle/runner/state"
)

func TestApplyNormalEnd(t *testing.T) {
	e := newEnv(t, basicHCL)
	before := time.Now().UTC().Add(-time.Second)
	var md *state.Metadata
	var mdErr error
	e.docker.SetAgent(baseImage, func(ctx context.Context, in *fake.Instance, io backend.IO) int {
		d, _ := e.home.Dir(in.Spec().Identity)
		md, mdErr = d.ReadMetadata()
		return 3
	})
	res, err := e.r.Apply(t.Context(), e.launchOpts("b"))
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode != 3 || res.Preserved || res.Interrupted || res.Detached || res.Backend != backend.Docker {
		t.Errorf("result %+v: want exit 3 on docker, not preserved", res)
	}
	id := res.Identity
	if err := state.ValidateIdentity(id); err != nil || id[:2] != "b-" {
		t.Errorf("identity %q: %v", id, err)
	}

	// Metadata, as the agent saw it while it ran.
	if mdErr != nil {
		t.Fatalf("metadata during the launch: %v", mdErr)
	}
	if md.Backend != backend.Docker || md.SessionID == "" || md.Agent != "a" || md.Bottle != "b" || md.Cwd != e.dir ||
		md.CopyCwd || md.Image != baseImage || md.ConfigPath != e.cfg || md.StartedAt.Before(before) || md.Launches != 1 {
		t.Errorf("metadata at launch: %+v", md)
	}

	// The spec carried the contract.
	calls := e.docker.Calls(fake.OpCreate)
	if len(calls) != 1 {
		t.Fatalf("%d Create calls", len(calls))
	}
	spec := calls[0].Spec
	for _, kv := range []string{"BOTTLE_IDENTITY=" + id, "BOTTLE_SESSION_ID=" + md.SessionID, "BOTTLE_QUEUE=" + runner.GuestQueue, "FOO=bar"} {
		if !slices.Contains(spec.Env, kv) {
			t.Errorf("spec env %q lacks %s", spec.Env, kv)
		}
	}
	if slices.ContainsFunc(spec.Env, func(kv string) bool { return kv == "BOTTLE_RESUMED=1" }) {
		t.Error("a first launch has BOTTLE_RESUMED")
	}
	if !slices.IsSorted(spec.Env) {
		t.Errorf("spec env is not sorted: %q", spec.Env)
	}
	d := e.stateDir(id)
	wantMounts := []backend.Mount{
		{Source: e.home.Path + "/helper", Target: runner.GuestRunDir, ReadOnly: true},
		{Source: d.QueuePath(), Target: runner.GuestQueue},
		{Source: e.dir, Target: "/workspace"},
	}
	if !slices.Equal(spec.Mounts, wantMounts) {
		t.Errorf("mounts %+v, want %+v", spec.Mounts, wantMounts)
	}
	if !slices.Equal(spec.Command, []string{"run", md.SessionID}) || spec.Workdir != "/workspace" || spec.Image != baseImage {
		t.Errorf("spec command %q workdir %q image %q", spec.Command, spec.Workdir, spec.Image)
	}
	if spec.Labels[backend.LabelHome] != e.home.ID() {
		t.Errorf("spec labels %v lack this home's %s", spec.Labels, e.home.ID())
	}
	if !exists(e.home.Path + "/helper/bottle-request") {
		t.Error("the request helper was not installed")
	}

	// A normal end: torn down, state removed.
	if d.Exists() {
		t.Error("the state dir outlived a normal end")
	}
	if in := e.docker.Instance(id); in == nil || !in.Removed() {
		t.Error("the instance was not torn down")
	}
	if left, _ := e.docker.Leftovers(t.Context()); len(left) != 0 {
		t.Errorf("leftovers after a normal end: %+v", left)
	}
	for _, typ := range []runner.EventType{runner.EventLaunch, runner.EventStarted, runner.EventTeardown, runner.EventCleaned} {
		if len(e.events.of(typ, id)) != 1 {
			t.Errorf("%s events: %q", typ, e.events.of(typ, id))
		}
	}
	if got := e.events.of(runner.EventExited, id); !slices.Equal(got, []string{"3"}) {
		t.Errorf("exited events %q", got)
	}
	if len(e.events.of(runner.EventPreserved, id)) != 0 {
		t.Error("a normal end reported preserved")
	}
}

// TestApplyFailureCleansUp injects a failure at each step of a launch: the
// launch fails, and neither a state dir nor an instance is left.
func TestApplyFailureCleansUp(t *testing.T) {
	boom := errors.New("boom")
	for _, op := range []fake.Op{fake.OpEnsureImage, fake.OpCreate, fake.OpCopyIn, fake.OpRun} {
		t.Run(string(op), func(t *testing.T) {
			e := newEnv(t, copyHCL(""))
			e.docker.SetAgent(baseImage, exitAgent(0))
			e.docker.FailOn(op, boom)
			res, err := e.r.Apply(t.Context(), e.launchOpts("b"))
			if !errors.Is(err, boom) {
				t.Fatalf("Apply = %v, want the injected failure", err)
			}
			if ids, _, _ := e.home.Identities(); len(ids) != 0 {
				t.Errorf("state dirs left: %v", ids)
			}
			if live := liveInstances(t, e.docker); len(live) != 0 {
				t.Errorf("instances left: %v", live)
			}
			if left, _ := e.docker.Leftovers(t.Context()); len(left) != 0 {
				t.Errorf("leftovers: %+v", left)
			}
			if res == nil || res.Preserved {
				t.Errorf("result %+v", res)
			}
		})
	}
}

func TestApplyEngineDown(t *testing.T) {
	e := newEnv(t, basicHCL)
	e.docker.FailOn(fake.OpPing, errors.New("no engine"))
	if _, err := e.r.Apply(t.Context(), e.launchOpts("b")); err == nil {
		t.Fatal("Apply with the engine down: no error")
	}
	if ids, _, _ := e.home.Identities(); len(ids) != 0 || len(e.docker.Calls(fake.OpCreate)) != 0 {
		t.Errorf("a launch with no engine touched state %v or the engine", ids)
	}
}

// TestApplyInterrupted cancels an attached apply: the bottle is torn down
// and its state removed, though ctx is done.
func TestApplyInterrupted(t *testing.T) {
	e := newEnv(t, basicHCL)
	e.docker.SetAgent(baseImage, blockingAgent())
	ctx, cancel := context.WithCancel(t.Context())
	ch := e.async(func(context.Context) (*runner.LaunchResult, error) { return e.r.Apply(ctx, e.launchOpts("b")) })
	id := e.onlyIdentity()
	running(t, e.docker, id)
	cancel()
	r := wait(t, ch)
	if r.err != nil || !r.res.Interrupted || r.res.Preserved {
		t.Fatalf("interrupted apply = %+v, %v", r.res, r.err)
	}
	if e.stateDir(id).Exists() || !e.docker.Instance(id).Removed() {
		t.Error("an interrupted apply left state or its instance")
	}
}

func TestApplyDetached(t *testing.T) {
	e := newEnv(t, basicHCL)
	e.docker.SetAgent(baseImage, blockingAgent())
	opts := e.launchOpts("b")
	opts.Detach = true
	res, err := e.r.Apply(t.Context(), opts)
	if err != nil || !res.Detached {
		t.Fatalf("detached apply = %+v, %v", res, err)
	}
	running(t, e.docker, res.Identity)
	md, err := e.stateDir(res.Identity).ReadMetadata()
	if err != nil || !md.Detached {
		t.Errorf("metadata of a detached launch: %+v, %v", md, err)
	}
	if len(e.docker.Calls(fake.OpStart)) != 1 || len(e.docker.Calls(fake.OpRun)) != 0 {
		t.Error("a detached launch must Start, not Run")
	}
	if err := e.r.Destroy(t.Context(), res.Identity); err != nil {
		t.Fatal(err)
	}
}
