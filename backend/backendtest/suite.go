package backendtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"maps"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bottle-dev/bottle/backend"
)

// Options describes the engine under test.
type Options struct {
	// Image is an image the engine already has, with busybox-style tools
	// (sh, cat, ls, mkdir, touch, readlink, sleep, seq, stty, test, true).
	// The suite never pulls.
	Image string
	// Labels go on every bottle the suite creates, and (as LABEL lines) on
	// every image it builds, so that a TestMain can remove what one run
	// left behind by label alone.
	Labels map[string]string
	// NoBuild skips the Dockerfile cases, for an engine that cannot build.
	NoBuild bool
	// NoImageLeftovers skips checking that a per-bottle image shows up in
	// Leftovers, for a backend whose images live in another engine.
	NoImageLeftovers bool
	// NoResize skips checking that IO.Resize reaches the agent's terminal.
	NoResize bool
}

// caseTimeout bounds each case, so that a hung attach fails one case with a
// clear error instead of the whole test binary at -timeout.
const caseTimeout = 3 * time.Minute

// Run runs the conformance suite against the backends newBackend returns
// (one per case; cases run in parallel).
func Run(t *testing.T, newBackend func(t *testing.T) backend.Backend, opts Options) {
	if opts.Image == "" {
		t.Fatal("backendtest.Options.Image is required")
	}
	cases := []struct {
		name string
		fn   func(h *harness)
	}{
		{"ImageRef", testImageRef},
		{"ImageDockerfile", testImageDockerfile},
		{"ImagePerBottle", testImagePerBottle},
		{"RunEnvWorkdirExitCode", testRunEnvWorkdir},
		{"RunStdin", testRunStdin},
		{"RunTTY", testRunTTY},
		{"Mounts", testMounts},
		{"CopyInOwner", testCopyInOwner},
		{"TranscriptRoundTrip", testTranscript},
		{"StartLogs", testStartLogs},
		{"LogsFollow", testLogsFollow},
		{"Halt", testHalt},
		{"Exec", testExec},
		{"Remove", testRemove},
		{"NotFound", testNotFound},
		{"List", testList},
		{"DuplicateCreate", testDuplicateCreate},
		{"RunLargeOutput", testRunLargeOutput},
		{"RunStdinEOF", testRunStdinEOF},
		{"ExecLimits", testExecLimits},
		{"LogsLarge", testLogsLarge},
		{"TranscriptLarge", testTranscriptLarge},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(t.Context(), caseTimeout)
			defer cancel()
			c.fn(&harness{t: t, ctx: ctx, b: newBackend(t), opts: opts})
		})
	}
}

// harness is one case's backend plus helpers that fail the case on error.
type harness struct {
	t    *testing.T
	ctx  context.Context
	b    backend.Backend
	opts Options
}

// identity mints a fresh identity of the runner's shape: slug, "-", five
// base36 characters.
func (h *harness) identity() string {
	return "bt-" + randomBase36(5)
}

func randomBase36(n int) string {
	const digits = "0123456789abcdefghijklmnopqrstuvwxyz"
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	for i := range b {
		b[i] = digits[int(b[i])%len(digits)]
	}
	return string(b)
}

// spec is a bottle running argv in the suite's image.
func (h *harness) spec(argv ...string) backend.Spec {
	return backend.Spec{
		Identity: h.identity(),
		Bottle:   "conformance",
		Agent:    "shell",
		Image:    h.opts.Image,
		Command:  argv,
		Labels:   maps.Clone(h.opts.Labels),
	}
}

// create creates a bottle and registers its removal before looking at the
// error, so that even a half-created bottle is cleaned up.
func (h *harness) create(spec backend.Spec) backend.Instance {
	h.t.Helper()
	inst, err := h.b.Create(h.ctx, spec)
	h.t.Cleanup(func() { h.cleanup(backend.InstanceName(spec.Identity)) })
	if err != nil {
		h.t.Fatalf("Create %s: %v", spec.Identity, err)
	}
	return inst
}

// cleanup removes a bottle with a fresh context: t.Context is already
// cancelled when cleanups run.
func (h *harness) cleanup(id string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := h.b.Remove(ctx, id); err != nil {
		h.t.Errorf("cleanup: Remove %s: %v", id, err)
	}
}

// run runs a created bottle attached, with stdin when non-empty.
func (h *harness) run(id, stdin string) (code int, stdout, stderr string) {
	h.t.Helper()
	var out, errOut bytes.Buffer
	streams := backend.IO{Stdout: &out, Stderr: &errOut}
	if stdin != "" {
		streams.Stdin = strings.NewReader(stdin)
	}
	code, err := h.b.Run(h.ctx, id, streams)
	if err != nil {
		h.t.Fatalf("Run %s: %v (stdout %q, stderr %q)", id, err, out.String(), errOut.String())
	}
	return code, out.String(), errOut.String()
}

// must fails the case on err.
func (h *harness) must(err error, what string) {
	h.t.Helper()
	if err != nil {
		h.t.Fatalf("%s: %v", what, err)
	}
}

// waitState polls Inspect until the bottle is in state want.
func (h *harness) waitState(id string, want backend.State) backend.Instance {
	h.t.Helper()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(30 * time.Second)
	for {
		inst, err := h.b.Inspect(h.ctx, id)
		h.must(err, "Inspect")
		if inst.State == want {
			return inst
		}
		select {
		case <-tick.C:
		case <-deadline:
			h.t.Fatalf("bottle %s is %q after 30s, want %q", id, inst.State, want)
		case <-h.ctx.Done():
			h.t.Fatalf("waiting for %s to be %q: %v", id, want, h.ctx.Err())
		}
	}
}

// recorder is a backend.Progress that keeps every line.
type recorder struct {
	mu    sync.Mutex
	lines []string
}

func (r *recorder) Progress(line string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lines = append(r.lines, line)
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.lines)
}
