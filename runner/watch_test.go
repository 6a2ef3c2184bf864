package runner_test

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/bottle-dev/bottle/backend"
	"github.com/bottle-dev/bottle/backend/fake"
	"github.com/bottle-dev/bottle/runner"
	"github.com/bottle-dev/bottle/runner/state"
)

// TestWatch runs the capability loop under bottle watch: a request is
// reported, its approval resumes the bottle once (never twice, however many
// events and rescans follow), a second approval resumes it again, and the
// end of the watch tears down what it launched.
func TestWatch(t *testing.T) {
	// No transcript: a second snapshot would hit the watcher bug that
	// TestWatchSurvivesSnapshotReplacement reproduces.
	e := newEnv(t, strings.Replace(basicHCL, `transcript     = "/home/agent/.t"`, "", 1))
	// A first launch asks for req-1; a resumed one just works.
	e.docker.SetAgent(baseImage, func(ctx context.Context, in *fake.Instance, io backend.IO) int {
		if in.Env("BOTTLE_RESUMED") == "1" {
			<-ctx.Done()
			return 0
		}
		return blockingAgent("req-1")(ctx, in, io)
	})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	werr := make(chan error, 1)
	go func() { werr <- e.r.Watch(ctx, runner.WatchOptions{Rescan: 20 * time.Millisecond}) }()

	ch := e.applyAsync("b")
	id := e.onlyIdentity()
	reported := func(n int) func() bool {
		return func() bool { return len(e.events.of(runner.EventRequest, id)) == n }
	}
	waitFor(t, "the watch to report req-1", reported(1))
	ap, err := e.r.Approve(t.Context(), id, "req-1", runner.ApproveOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !ap.WatchRunning {
		t.Error("Approve did not see the running watch")
	}
	if r := wait(t, ch); r.err != nil || !r.res.Preserved {
		t.Fatalf("the approved session ended %+v, %v", r.res, r.err)
	}
	waitFor(t, "the watch to resume "+id, func() bool {
		in := e.docker.Instance(id)
		return creates(e.docker, id) == 2 && in.State() == backend.StateRunning
	})
	in := e.docker.Instance(id)
	if in.Env("BOTTLE_RESUMED") != "1" {
		t.Error("the watch's launch is not a resume")
	}

	// Many events: requests filed one at a time (each reported, so each is
	// followed by a scan), and the Dockerfile rewritten as it was.
	d := e.stateDir(id)
	dockerfile, _ := d.ReadDockerfile()
	for i := range 5 {
		if err := fileRequest(in, fmt.Sprintf("more-%d", i), "more", "RUN true"); err != nil {
			t.Fatal(err)
		}
		if err := state.WriteFileAtomic(d.DockerfilePath(), []byte(dockerfile), 0o600); err != nil {
			t.Fatal(err)
		}
		waitFor(t, fmt.Sprintf("the watch to report more-%d", i), reported(2+i))
	}
	if n := creates(e.docker, id); n != 2 {
		t.Fatalf("%d launches after one approval, want 2 (apply and one resume)", n)
	}

	// A new approval is a new resume.
	if _, err := e.r.Approve(t.Context(), id, "more-0", runner.ApproveOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the watch to resume again", func() bool {
		return creates(e.docker, id) == 3 && e.docker.Instance(id).State() == backend.StateRunning
	})
	third := e.docker.Instance(id)
	if err := fileRequest(third, "last", "more", "RUN true"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the watch to report the last request", reported(7))
	if n := creates(e.docker, id); n != 3 {
		t.Errorf("%d launches after two approvals, want 3", n)
	}
	if n := len(e.events.of(runner.EventResume, id)); n != 2 {
		t.Errorf("%d resume events, want 2", n)
	}

	cancel()
	select {
	case err := <-werr:
		if err != nil {
			t.Fatalf("Watch = %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Watch did not return after its context ended")
	}
	if !third.Removed() || len(liveInstances(t, e.docker)) != 0 {
		t.Error("the watch left the bottle it launched running")
	}
	if d.Exists() {
		t.Error("the watch's bottle kept its state, though nothing preserved it")
	}
}

// TestWatchBrokenApproval: a resume whose build fails is reported once and
// keeps the state; the watch goes on.
func TestWatchBrokenApproval(t *testing.T) {
	e := newEnv(t, basicHCL)
	e.stateOf("broken-aaaaa", true, true)
	e.docker.Hook(fake.OpEnsureImage, func(c fake.Call) error {
		if c.Image.Tag != "" {
			return fmt.Errorf("RUN failed")
		}
		return nil
	})
	ctx, cancel := context.WithCancel(t.Context())
	werr := make(chan error, 1)
	go func() { werr <- e.r.Watch(ctx, runner.WatchOptions{Rescan: 10 * time.Millisecond}) }()
	waitFor(t, "the watch to report the failure", func() bool {
		return len(e.events.of(runner.EventWatchError, "broken-aaaaa")) > 0
	})
	// More rescans pass (a new request is reported by one of them) ...
	d := e.stateDir("broken-aaaaa")
	writeFile(t, d.Join(state.QueueDir, "r.json"), string(request("r", "why", "RUN true")))
	waitFor(t, "a later scan", func() bool { return len(e.events.of(runner.EventRequest, "broken-aaaaa")) == 1 })
	cancel()
	if err := <-werr; err != nil {
		t.Fatal(err)
	}
	// ... without retrying the same broken Dockerfile.
	if n := len(e.events.of(runner.EventWatchError, "broken-aaaaa")); n != 1 {
		t.Errorf("%d error reports, want 1", n)
	}
	if !d.IsPreserved() || !d.HasDockerfile() {
		t.Error("a failed resume lost the preserved state")
	}
}

// TestWatchSurvivesSnapshotReplacement: an approval replaces a bottle's
// transcript snapshot by renaming the old folder away and removing it. When
// the watch followed that folder, fsnotify reported the vanished folder as
// an error ("invalid argument") that ended the watch on the second approval
// of any bottle with a transcript. Snapshot folders are no longer watched
// and watcher errors are not fatal: the watch carries on.
func TestWatchSurvivesSnapshotReplacement(t *testing.T) {
	e := newEnv(t, basicHCL)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	werr := make(chan error, 1)
	go func() { werr <- e.r.Watch(ctx, runner.WatchOptions{Rescan: 20 * time.Millisecond}) }()
	d := e.stateOf("snap-aaaaa", false, false)
	writeFile(t, d.Join(state.QueueDir, "r1.json"), string(request("r1", "why", "RUN true")))
	waitFor(t, "the watch to follow the state dir", func() bool { return len(e.events.of(runner.EventRequest, "snap-aaaaa")) == 1 })
	for i := range 3 {
		// What Approve does to the transcript snapshot, each time.
		if err := d.ExtractSnapshot(t.Context(), state.TranscriptDir, emptyTar(), state.DefaultLimits); err != nil {
			t.Fatal(err)
		}
		id := fmt.Sprintf("r%d", i+2)
		writeFile(t, d.Join(state.QueueDir, id+".json"), string(request(id, "why", "RUN true")))
		waitFor(t, "the watch to report "+id, func() bool {
			select {
			case err := <-werr:
				t.Fatalf("the watch ended: %v", err)
			default:
			}
			return len(e.events.of(runner.EventRequest, "snap-aaaaa")) == i+2
		})
	}
}

func emptyTar() io.Reader {
	var buf bytes.Buffer
	_ = tar.NewWriter(&buf).Close()
	return &buf
}
