package smolvm

import (
	"bytes"
	"context"
	"errors"
	"github.com/bottle-dev/bottle/backend/backendtest"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/bottle-dev/bottle/backend"
	"github.com/bottle-dev/bottle/backend/docker"
)

// env is one direct test's backend on the fake.
type env struct {
	t   *testing.T
	ctx context.Context
	b   *Backend
}

func newEnv(t *testing.T) *env {
	t.Helper()
	needDocker(t)
	if fakeBin == "" {
		t.Skip("direct tests run against the fake")
	}
	t.Parallel()
	images, err := docker.New(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { images.Close() })
	return &env{t: t, ctx: t.Context(), b: newTestBackend(t, images)}
}

func (e *env) create(spec backend.Spec) string {
	e.t.Helper()
	if spec.Identity == "" {
		spec.Identity = "direct-" + strings.ToLower(strings.ReplaceAll(e.t.Name(), "/", "-"))
	}
	if spec.Image == "" {
		spec.Image = "busybox:latest"
	}
	_, err := e.b.Create(e.ctx, spec)
	e.t.Cleanup(func() {
		if err := e.b.Remove(context.Background(), backend.InstanceName(spec.Identity)); err != nil {
			e.t.Errorf("cleanup: %v", err)
		}
	})
	if err != nil {
		e.t.Fatalf("Create: %v", err)
	}
	return backend.InstanceName(spec.Identity)
}

func (e *env) status(id string) string {
	e.t.Helper()
	m, err := e.b.status(e.ctx, id)
	if err != nil {
		e.t.Fatal(err)
	}
	return m.State
}

func (e *env) must(err error, what string) {
	e.t.Helper()
	if err != nil {
		e.t.Fatalf("%s: %v", what, err)
	}
}

// TestLogsOfAttachedRun checks that an attached run's output is kept on the
// host for Logs (smolvm has no logs command), also while it runs.
func TestLogsOfAttachedRun(t *testing.T) {
	e := newEnv(t)
	id := e.create(backend.Spec{Command: []string{"sh", "-c", "echo one; sleep 2; echo two >&2; exit 6"}})
	followed := make(chan string, 1)
	started := make(chan struct{})
	go func() {
		<-started
		var buf bytes.Buffer
		deadline := time.Now().Add(20 * time.Second)
		// Wait for the run to create the host log, then follow it.
		for time.Now().Before(deadline) {
			if _, err := os.Stat(e.b.hostPath(id, hostLog)); err == nil {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if err := e.b.Logs(e.ctx, id, true, &buf); err != nil {
			t.Errorf("Logs -f during Run: %v", err)
		}
		followed <- buf.String()
	}()
	var out, errOut bytes.Buffer
	close(started)
	code, err := e.b.Run(e.ctx, id, backend.IO{Stdout: &out, Stderr: &errOut})
	e.must(err, "Run")
	if code != 6 || out.String() != "one\n" || errOut.String() != "two\n" {
		t.Errorf("Run: %d %q %q", code, out.String(), errOut.String())
	}
	if got := <-followed; got != "one\ntwo\n" {
		t.Errorf("Logs -f during Run = %q", got)
	}
	var logs bytes.Buffer
	e.must(e.b.Logs(e.ctx, id, false, &logs), "Logs")
	if logs.String() != "one\ntwo\n" {
		t.Errorf("Logs after Run = %q", logs.String())
	}
	if inst, err := e.b.Inspect(e.ctx, id); err != nil || inst.State != backend.StateExited || inst.ExitCode != 6 {
		t.Errorf("Inspect after Run = %+v, %v; want exited 6", inst, err)
	}
}

// TestStoppedMachine checks what bottle keeps across a stop: the detached
// log and the workspace are on disk, CopyOut/CopyIn/Logs on a stopped
// machine leave it stopped, the agent reads as killed, and Run boots it.
func TestStoppedMachine(t *testing.T) {
	e := newEnv(t)
	id := e.create(backend.Spec{Command: []string{"sh", "-c", `cd /workspace
if [ -f ran ]; then cat kept.txt sub/more.txt; exit 0; fi
touch ran; echo before-stop; sleep 600`}})
	e.must(e.b.CopyIn(e.ctx, id, "/workspace", tarOf(t, "kept.txt", "kept\n"), nil), "CopyIn")
	e.must(e.b.Start(e.ctx, id), "Start")
	e.must(e.b.Halt(e.ctx, id), "Halt")
	if inst, err := e.b.Inspect(e.ctx, id); err != nil || inst.State != backend.StateExited || inst.ExitCode != exitKilled {
		t.Errorf("Inspect after Halt = %+v, %v; want exited %d", inst, err, exitKilled)
	}
	var snap bytes.Buffer
	e.must(e.b.CopyOut(e.ctx, id, "/workspace", &snap), "CopyOut of a stopped machine")
	if got := untar(t, &snap); got["kept.txt"] != "kept\n" {
		t.Errorf("workspace after a stop: %v", got)
	}
	var logs bytes.Buffer
	e.must(e.b.Logs(e.ctx, id, true, &logs), "Logs of a stopped machine")
	if logs.String() != "before-stop\n" {
		t.Errorf("detached log after a stop = %q", logs.String())
	}
	e.must(e.b.CopyIn(e.ctx, id, "/workspace/sub", tarOf(t, "more.txt", "more\n"), nil), "CopyIn to a stopped machine")
	if st := e.status(id); st != "stopped" {
		t.Errorf("copies and logs left the machine %s", st)
	}
	if err := e.b.CopyOut(e.ctx, id, "/no/such/dir", io.Discard); !errors.Is(err, backend.ErrNotFound) {
		t.Errorf("CopyOut of a missing dir = %v", err)
	}
	if _, err := e.b.Exec(e.ctx, id, backend.ExecSpec{Argv: []string{"true"}}); err == nil || isNotFound(err) {
		t.Errorf("Exec in a stopped machine = %v, want a not-running error", err)
	}
	// Run boots the machine again; the agent starts afresh.
	var out bytes.Buffer
	code, err := e.b.Run(e.ctx, id, backend.IO{Stdout: &out, Stderr: &out})
	if err != nil || code != 0 || out.String() != "kept\nmore\n" {
		t.Errorf("Run after a stop: %d, %v, %q", code, err, out.String())
	}
}

// TestRunCancelDetaches checks that cancelling ctx ends Run promptly.
func TestRunCancelDetaches(t *testing.T) {
	e := newEnv(t)
	id := e.create(backend.Spec{Command: []string{"sleep", "600"}})
	ctx, cancel := context.WithTimeout(e.ctx, 3*time.Second)
	defer cancel()
	start := time.Now()
	_, err := e.b.Run(ctx, id, backend.IO{Stdout: io.Discard, Stderr: io.Discard})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("cancelled Run = %v", err)
	}
	if d := time.Since(start); d > 3*time.Second+waitDelay+5*time.Second {
		t.Errorf("cancelled Run took %v", d)
	}
	// With the fake, the interrupted client leaves the agent running.
	if inst, err := e.b.Inspect(e.ctx, id); err != nil || inst.State != backend.StateRunning {
		t.Errorf("after a detach: %+v, %v; want the agent still running", inst, err)
	}
}

// TestHaltDuringRun checks that an attached run ended by a Halt from
// elsewhere returns the killed code, not an error.
func TestHaltDuringRun(t *testing.T) {
	e := newEnv(t)
	id := e.create(backend.Spec{Command: []string{"sh", "-c", "echo up; sleep 600"}})
	type ran struct {
		code int
		err  error
	}
	done := make(chan ran, 1)
	out := &syncBuffer{}
	go func() {
		code, err := e.b.Run(e.ctx, id, backend.IO{Stdout: out, Stderr: io.Discard})
		done <- ran{code, err}
	}()
	for deadline := time.Now().Add(30 * time.Second); !strings.Contains(out.String(), "up"); {
		if time.Now().After(deadline) {
			t.Fatal("the agent did not start")
		}
		time.Sleep(50 * time.Millisecond)
	}
	e.must(e.b.Halt(e.ctx, id), "Halt")
	if r := <-done; r.err != nil || r.code != exitKilled {
		t.Errorf("Run ended by Halt = %d, %v; want %d", r.code, r.err, exitKilled)
	}
}

type syncBuffer = backendtest.Buffer
