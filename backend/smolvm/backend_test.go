package smolvm

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
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
	if code, err := e.b.Wait(e.ctx, id); err != nil || code != 6 {
		t.Errorf("Wait after Run = %d, %v", code, err)
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
	e.must(e.b.CopyIn(e.ctx, id, "/workspace", tarOf(t, "kept.txt", "kept\n")), "CopyIn")
	e.must(e.b.Start(e.ctx, id), "Start")
	e.must(e.b.Stop(e.ctx, id), "Stop")
	if inst, err := e.b.Inspect(e.ctx, id); err != nil || inst.State != backend.StateExited || inst.ExitCode != exitKilled {
		t.Errorf("Inspect after Stop = %+v, %v; want exited %d", inst, err, exitKilled)
	}
	if code, err := e.b.Wait(e.ctx, id); err != nil || code != exitKilled {
		t.Errorf("Wait after Stop = %d, %v", code, err)
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
	e.must(e.b.CopyIn(e.ctx, id, "/workspace/sub", tarOf(t, "more.txt", "more\n")), "CopyIn to a stopped machine")
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
	if _, err := e.b.Inspect(e.ctx, id); err != nil {
		t.Errorf("the bottle is gone after a detach: %v", err)
	}
}

// TestUser checks the launcher's user switch (smolvm has no --user).
func TestUser(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	df := "FROM busybox:latest\n" +
		"RUN mkdir -p /etc /home/agent && echo 'root:x:0:0::/root:/bin/sh' > /etc/passwd && " +
		"echo 'agent:x:1000:1000::/home/agent:/bin/sh' >> /etc/passwd && " +
		"printf 'root:x:0:\\nagent:x:1000:\\n' > /etc/group && chown 1000:1000 /home/agent\n" +
		"LABEL " + runLabel + "=" + runID + "\n"
	e.must(os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(df), 0o644), "write Dockerfile")
	ref, err := e.b.EnsureImage(e.ctx, backend.Image{Dockerfile: filepath.Join(dir, "Dockerfile"), Context: dir}, nil)
	e.must(err, "EnsureImage")
	argv := []string{"sh", "-c", `echo "$(id -u) $HOME $BOTTLE_IDENTITY"`}
	for _, c := range []struct{ user, want string }{
		{"agent", "1000 /home/agent u-named\n"},
		{"1000:1000", "1000 /home/agent"},
		{"", "0 "},
	} {
		identity := "u-named"
		if c.user != "agent" {
			identity = "u-" + strings.NewReplacer(":", "x").Replace(c.user) + "x"
		}
		id := e.create(backend.Spec{Identity: identity, Image: ref, User: c.user, Command: argv,
			Env: []string{"BOTTLE_IDENTITY=" + identity}})
		var out, errOut bytes.Buffer
		code, err := e.b.Run(e.ctx, id, backend.IO{Stdout: &out, Stderr: &errOut})
		if err != nil || code != 0 || !strings.HasPrefix(out.String(), c.want) {
			t.Errorf("user %q: %d %v stdout %q stderr %q; want prefix %q", c.user, code, err, out.String(), errOut.String(), c.want)
		}
	}
}

// TestCreateFailures checks that a failed Create leaves no machine behind
// and says why.
func TestCreateFailures(t *testing.T) {
	e := newEnv(t)
	// Not in the local engine and no network: refused before smolvm.
	_, err := e.b.Create(e.ctx, backend.Spec{Identity: "cf-1", Image: "example.invalid/nope:1", Command: []string{"true"}})
	if err == nil || !strings.Contains(err.Error(), "not in the local Docker engine") {
		t.Errorf("Create of a missing image = %v", err)
	}
	// With network smolvm accepts the ref, and the first start cannot pull it.
	_, err = e.b.Create(e.ctx, backend.Spec{Identity: "cf-2", Image: "example.invalid/nope:1", Network: true,
		Command: []string{"true"}})
	if err == nil {
		t.Error("Create of an unpullable image succeeded")
	}
	if list, err := e.b.List(e.ctx, nil); err != nil || len(list) != 0 {
		t.Errorf("failed Creates left %+v (%v)", list, err)
	}
	// An archive path is passed to smolvm as is.
	archive := filepath.Join(t.TempDir(), "img.tar")
	out, err := exec.Command("docker", "save", "-o", archive, "busybox:latest").CombinedOutput()
	e.must(err, "docker save: "+string(out))
	id := e.create(backend.Spec{Identity: "cf-3", Image: archive, Command: []string{"echo", "from-archive"}})
	var buf bytes.Buffer
	if code, err := e.b.Run(e.ctx, id, backend.IO{Stdout: &buf}); err != nil || code != 0 || buf.String() != "from-archive\n" {
		t.Errorf("archive image: %d %v %q", code, err, buf.String())
	}
}

func tarOf(t *testing.T, name, body string) io.Reader {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
		t.Fatal(err)
	}
	io.WriteString(tw, body) //nolint:errcheck // bytes.Buffer
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return &buf
}

func untar(t *testing.T, r io.Reader) map[string]string {
	t.Helper()
	got := map[string]string{}
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return got
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		got[hdr.Name] = string(b)
	}
}
