package dashboard

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"

	"github.com/bottle-dev/bottle/backend"
	"github.com/bottle-dev/bottle/backend/backendtest"
	"github.com/bottle-dev/bottle/runner/state"
)

// TestDashboardEndToEnd drives the real bottle binary against a real
// Docker engine: it launches examples/demo (whose agent asks for newtool),
// waits for the request, runs bottle dashboard in an 80×24 pseudo-terminal,
// reads the request off the screen, presses a, and reads the status line
// with the resume hint. go test -update also saves the screens it read in
// testdata/screen-e2e*.txt.
func TestDashboardEndToEnd(t *testing.T) {
	if os.Getenv("BOTTLE_DOCKER_TESTS") != "1" {
		t.Skip("set BOTTLE_DOCKER_TESTS=1 to run against a real Docker engine (scripts/docker-up starts one)")
	}
	e := newDashE2E(t)

	// Without a terminal, the command refuses and points at bottle requests.
	var out bytes.Buffer
	c := e.bottle(t.Context(), "dashboard")
	c.Stdout, c.Stderr = &out, &out
	if err := c.Run(); exitCode(err) != 1 || !strings.Contains(out.String(), "bottle requests") {
		t.Fatalf("dashboard without a terminal: %v\n%s", err, out.String())
	}

	apply := e.bottle(context.WithoutCancel(t.Context()), "--chdir", "examples/demo", "apply", "--auto-approve", "--var", "request_tool=true")
	var applyOut syncBuffer
	apply.Stdout, apply.Stderr = &applyOut, &applyOut
	if err := apply.Start(); err != nil {
		t.Fatal(err)
	}
	applyDone := make(chan error, 1)
	go func() { applyDone <- apply.Wait() }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if out, err := e.bottle(ctx, "destroy", "--all").CombinedOutput(); err != nil {
			t.Logf("bottle destroy --all: %v\n%s", err, out)
		}
		_ = apply.Process.Kill()
		<-applyDone
	})

	var req struct{ Identity, ID string }
	deadline := time.Now().Add(4 * time.Minute)
	for req.ID == "" {
		if time.Now().After(deadline) {
			t.Fatalf("no pending request after 4 minutes; apply printed:\n%s", applyOut.String())
		}
		select {
		case err := <-applyDone:
			applyDone <- err
			t.Fatalf("apply ended (%v) before its agent asked for anything:\n%s", err, applyOut.String())
		default:
		}
		var doc struct {
			Requests []struct{ Identity, ID string } `json:"requests"`
		}
		raw, err := e.bottle(t.Context(), "requests", "--json").Output()
		if err == nil && json.Unmarshal(raw, &doc) == nil && len(doc.Requests) > 0 {
			req.Identity, req.ID = doc.Requests[0].Identity, doc.Requests[0].ID
			break
		}
		wait(t, 500*time.Millisecond)
	}

	dash := e.bottle(t.Context(), "dashboard")
	ptmx, err := pty.StartWithSize(dash, &pty.Winsize{Rows: 24, Cols: 80})
	if err != nil {
		t.Fatal(err)
	}
	defer ptmx.Close()
	scr := newVTScreen(80, 24)
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		_, _ = io.Copy(scr, ptmx) // ends with EIO once the dashboard exits
	}()

	pending := waitScreen(t, scr, req.ID, "approve appends:", "RUN printf")
	saveScreen(t, "screen-e2e.txt", pending)
	if _, err := ptmx.Write([]byte("a")); err != nil {
		t.Fatal(err)
	}
	approved := waitScreen(t, scr, "approved "+req.ID+" for "+req.Identity+":", "resume with bottle resume "+req.Identity)
	saveScreen(t, "screen-e2e-approved.txt", approved)
	if _, err := ptmx.Write([]byte("q")); err != nil {
		t.Fatal(err)
	}
	if err := waitProcess(dash, 10*time.Second); err != nil {
		t.Errorf("dashboard did not quit cleanly: %v\n%s", err, scr.String())
	}

	// The attached session ends as a capability approval ends it: with the
	// state kept and the resume hint.
	select {
	case err := <-applyDone:
		applyDone <- err
		if err != nil {
			t.Errorf("apply after the approval: %v\n%s", err, applyOut.String())
		}
	case <-time.After(time.Minute):
		t.Errorf("apply still runs a minute after the approval:\n%s", applyOut.String())
	}
	if !strings.Contains(applyOut.String(), "bottle resume "+req.Identity) {
		t.Errorf("apply did not print the resume hint:\n%s", applyOut.String())
	}
	_ = ptmx.Close()
	<-copied
}

type dashE2E struct {
	root, bin string
	env       []string
}

func newDashE2E(t *testing.T) *dashE2E {
	t.Helper()
	root, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "examples", "demo", "bottle.hcl")); err != nil {
		t.Fatalf("examples/demo: %v", err)
	}
	tmp := t.TempDir()
	e := &dashE2E{root: root, bin: filepath.Join(tmp, "bottle")}
	build := exec.CommandContext(t.Context(), "go", "build", "-o", e.bin, "./cmd/bottle")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "BOTTLE_") && !strings.HasPrefix(kv, "NO_COLOR=") && !strings.HasPrefix(kv, "TERM=") {
			e.env = append(e.env, kv)
		}
	}
	home := filepath.Join(tmp, "home")
	e.env = append(e.env, "BOTTLE_HOME="+home, "NO_COLOR=1", "TERM=xterm-256color")
	// The bottle-cwd image the demo's launch cached outlives the test's
	// home: remove it last.
	t.Cleanup(func() { removeCwdImages(home) })
	return e
}

// removeCwdImages removes the bottle-cwd images of the BOTTLE_HOME home.
func removeCwdImages(home string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return
	}
	defer cli.Close()
	f := filters.NewArgs(filters.Arg("label", backend.LabelHome+"="+state.Home{Path: home}.ID()), filters.Arg("label", backend.LabelCwd))
	imgs, err := cli.ImageList(ctx, image.ListOptions{Filters: f})
	if err != nil {
		return
	}
	for _, im := range imgs {
		_, _ = cli.ImageRemove(ctx, im.ID, image.RemoveOptions{Force: true, PruneChildren: true})
	}
}

func (e *dashE2E) bottle(ctx context.Context, args ...string) *exec.Cmd {
	c := exec.CommandContext(ctx, e.bin, args...)
	c.Dir, c.Env = e.root, e.env
	c.WaitDelay = 5 * time.Second
	return c
}

// waitScreen polls the screen until it shows every one of wants.
func waitScreen(t *testing.T, scr *vtScreen, wants ...string) string {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		s := scr.String()
		missing := ""
		for _, w := range wants {
			if !strings.Contains(s, w) {
				missing = w
				break
			}
		}
		if missing == "" {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("the screen never showed %q; it shows:\n%s", missing, s)
		}
		wait(t, 100*time.Millisecond)
	}
}

func saveScreen(t *testing.T, name, screen string) {
	t.Logf("%s:\n%s", name, screen)
	if *update {
		if err := os.WriteFile(filepath.Join("testdata", name), []byte(screen+"\n"), 0o644); err != nil {
			t.Error(err)
		}
	}
}

func wait(t *testing.T, d time.Duration) {
	select {
	case <-time.After(d):
	case <-t.Context().Done():
	}
}

func waitProcess(c *exec.Cmd, d time.Duration) error {
	done := make(chan error, 1)
	go func() { done <- c.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(d):
		_ = c.Process.Kill()
		return errors.Join(errors.New("timed out"), <-done)
	}
}

func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

type syncBuffer = backendtest.Buffer
