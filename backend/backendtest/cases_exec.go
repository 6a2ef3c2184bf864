package backendtest

import (
	"bytes"
	"context"
	"errors"
	"strconv"
	"strings"

	"github.com/bottle-dev/bottle/backend"
)

// Execer is a backend's Exec: it runs a command inside the running
// instance id and returns the command's exit code. It is not part of
// backend.Backend, since the runner never runs anything in a bottle but its
// agent; every backend has one all the same (docker asks its egress proxy
// through it), and the suite holds each to this one contract.
type Execer interface {
	Exec(ctx context.Context, id string, spec backend.ExecSpec) (int, error)
}

// execer is the backend's Exec. A backend without one fails the case that
// asks: the suite says so rather than passing over it.
func (h *harness) execer() Execer {
	h.t.Helper()
	x, ok := h.b.(Execer)
	if !ok {
		h.t.Fatalf("the %s backend (%T) has no Exec method (backendtest.Execer): give it one, or drop this case from the suite for every backend", h.b.Name(), h.b)
	}
	return x
}

// testExec: Exec runs beside the agent with its own environment, working
// directory and streams, returns the command's exit code, and refuses a
// halted or missing bottle.
func testExec(h *harness) {
	x := h.execer()
	inst := h.create(h.spec("sleep", "600"))
	h.must(h.b.Start(h.ctx, inst.ID), "Start")
	h.waitState(inst.ID, backend.StateRunning)

	var out, errOut bytes.Buffer
	code, err := x.Exec(h.ctx, inst.ID, backend.ExecSpec{
		Argv:    []string{"sh", "-c", `pwd; echo "$E"; echo oops >&2; exit 5`},
		Env:     []string{"E=v"},
		Workdir: "/tmp",
		Stdout:  &out,
		Stderr:  &errOut,
	})
	h.must(err, "Exec")
	if code != 5 || out.String() != "/tmp\nv\n" || errOut.String() != "oops\n" {
		h.t.Errorf("Exec: exit %d stdout %q stderr %q; want 5 %q %q", code, out.String(), errOut.String(), "/tmp\nv\n", "oops\n")
	}
	out.Reset()
	code, err = x.Exec(h.ctx, inst.ID, backend.ExecSpec{Argv: []string{"cat"}, Stdin: strings.NewReader("piped\n"), Stdout: &out})
	h.must(err, "Exec with stdin")
	if code != 0 || out.String() != "piped\n" {
		h.t.Errorf("Exec cat: exit %d stdout %q", code, out.String())
	}

	h.must(h.b.Halt(h.ctx, inst.ID), "Halt")
	h.waitState(inst.ID, backend.StateExited)
	if _, err := x.Exec(h.ctx, inst.ID, backend.ExecSpec{Argv: []string{"true"}}); err == nil {
		h.t.Error("Exec in a halted bottle: no error")
	}
	missing := backend.InstanceName(h.identity())
	if _, err := x.Exec(h.ctx, missing, backend.ExecSpec{Argv: []string{"true"}}); !errors.Is(err, backend.ErrNotFound) {
		h.t.Errorf("Exec of a missing bottle = %v, want ErrNotFound", err)
	}
}

// testExecLimits: Exec without stdin gives the command EOF, passes 14 MiB
// of output through, and returns the command's own exit code.
func testExecLimits(h *harness) {
	x := h.execer()
	inst := h.create(h.spec("sleep", "600"))
	h.must(h.b.Start(h.ctx, inst.ID), "Start")
	h.waitState(inst.ID, backend.StateRunning)

	ctx, cancel := context.WithTimeout(h.ctx, stdinDeadline)
	defer cancel()
	var out bytes.Buffer
	code, err := x.Exec(ctx, inst.ID, backend.ExecSpec{Argv: []string{"sh", "-c", `cat; echo "eof seen"; exit 1`}, Stdout: &out})
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		h.t.Fatalf("Exec of a command reading stdin, with none given, did not end within %v", stdinDeadline)
	}
	h.must(err, "Exec reading stdin")
	if code != 1 || out.String() != "eof seen\n" {
		h.t.Errorf("Exec: exit %d stdout %q; want the command's 1 and %q", code, out.String(), "eof seen\n")
	}

	big := newDigest()
	code, err = x.Exec(h.ctx, inst.ID, backend.ExecSpec{Argv: []string{"seq", "1", strconv.Itoa(execOutN)}, Stdout: big})
	h.must(err, "Exec printing 14 MiB")
	if want := seqDigest(execOutN, '\n'); code != 0 || !sameDigest(big, want) {
		h.t.Errorf("Exec seq: exit %d, stdout %v; want 0, %v", code, big, want)
	}
}
