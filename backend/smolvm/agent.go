package smolvm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/bottle-dev/bottle/backend"
)

// Run starts the agent attached: `machine exec -i -t` on a host pty when
// the spec asked for a TTY, -i otherwise (with an empty stdin when there is
// none); smolvm exits with the agent's code. Never --stream: it ends the
// session after 11 MiB of output and its guest stdin never reaches EOF. The output also goes to the host log
// (DataDir/<identity>/agent.log) for Logs. Cancelling ctx interrupts the
// smolvm client (SIGINT) and returns; what becomes of the agent is up to
// smolvm, and the runner tears the bottle down after that anyway.
func (b *Backend) Run(ctx context.Context, id string, stdio backend.IO) (int, error) {
	m, err := b.ensureRunning(ctx, id)
	if err != nil {
		return -1, err
	}
	tty := m.Labels[labelTTY] == "true"
	args := []string{"machine", "exec", "--name", id}
	args = append(args, "-i")
	if tty {
		args = append(args, "-t")
	}
	args = append(args, "--", "sh", "-c", agentSh, "bottle-agent", "attached")

	if err := b.resetHost(id); err != nil {
		return -1, err
	}
	if err := os.MkdirAll(b.hostDir(id), 0o700); err != nil {
		return -1, err
	}
	logf, err := os.OpenFile(b.hostPath(id, hostLog), os.O_WRONLY|os.O_CREATE|os.O_TRUNC|os.O_APPEND, 0o600)
	if err != nil {
		return -1, fmt.Errorf("open host log: %w", err)
	}
	defer logf.Close()
	stdout, stderr := teeWriters(stdio.Stdout, stdio.Stderr, logf)

	var res result
	if tty {
		res, err = b.runTTY(ctx, args, stdio.Stdin, stdout, stdio.Resize)
	} else {
		res, err = b.runAttached(ctx, args, stdio.Stdin, stdout, stderr)
	}
	if err != nil {
		return -1, err
	}
	code := res.code
	if code != 0 {
		// smolvm's own failures also exit 1: only the guest's exit file
		// proves the code is the agent's.
		st, serr := b.agentState(ctx, id)
		switch {
		case serr == nil && st.state == backend.StateExited:
			code = st.code
		case serr != nil && b.stoppedMeanwhile(ctx, id):
			// A Halt (an approval's, from another process) ended the
			// agent; Halt recorded how.
			return b.hostExitCode(id), nil
		default:
			return -1, newError(args, res)
		}
	}
	b.writeHostExit(id, code)
	return code, nil
}

// runAttached runs smolvm with pipes. stdin goes through an os.Pipe fed by
// a goroutine of our own: given any other reader, exec.Cmd would wait for
// it to reach EOF (an open terminal may never) after the agent ended.
func (b *Backend) runAttached(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) (result, error) {
	c := call{args: args, stdout: stdout, stderr: stderr}
	if stdin != nil {
		r, w, err := os.Pipe()
		if err != nil {
			return result{}, err
		}
		defer r.Close()
		defer w.Close()
		c.stdin = r
		go func() {
			io.Copy(w, stdin) //nolint:errcheck // ends when the agent is gone
			w.Close()
		}()
	}
	return b.run(ctx, c)
}

// Start starts the agent detached (`machine exec -d`); its output goes to
// agent.log in the guest. Starting a running agent is a no-op.
func (b *Backend) Start(ctx context.Context, id string) error {
	if _, err := b.ensureRunning(ctx, id); err != nil {
		return err
	}
	st, err := b.agentState(ctx, id)
	if err != nil {
		return err
	}
	if st.state == backend.StateRunning {
		return nil
	}
	if err := b.resetHost(id); err != nil {
		return err
	}
	// Mark the agent running before exec -d returns, so that a Logs -f or
	// Inspect right after Start never sees "not started" and stops early.
	if _, err := b.must(ctx, call{args: []string{"machine", "exec", "--name", id, "--",
		"sh", "-c", markSh, "bottle-mark"}}); err != nil {
		return err
	}
	_, err = b.must(ctx, call{args: []string{"machine", "exec", "--name", id, "-d", "--",
		"sh", "-c", agentSh, "bottle-agent", "detached"}})
	if err != nil {
		b.run(context.WithoutCancel(ctx), call{args: []string{"machine", "exec", "--name", id, "--", //nolint:errcheck // best effort
			"rm", "-f", runningMarker}})
	}
	return err
}

// Exec runs spec.Argv in the running machine with -i (an empty stdin when
// spec has none), which has no output cap and gives the command EOF.
// smolvm exits with the command's code; its own failures are told apart by
// their error line (cliFailure).
func (b *Backend) Exec(ctx context.Context, id string, spec backend.ExecSpec) (int, error) {
	if err := checkID(id); err != nil {
		return -1, err
	}
	if len(spec.Argv) == 0 {
		return -1, errors.New("smolvm backend: exec needs a command")
	}
	args := []string{"machine", "exec", "--name", id, "-i"}
	for _, e := range spec.Env {
		args = append(args, "-e", e)
	}
	if spec.Workdir != "" {
		args = append(args, "-w", spec.Workdir)
	}
	args = append(append(args, "--"), spec.Argv...)
	stdout := spec.Stdout
	if stdout == nil {
		stdout = io.Discard
	}
	res, err := b.run(ctx, call{args: args, stdin: spec.Stdin, stdout: stdout, stderr: spec.Stderr})
	if err != nil {
		return -1, err
	}
	if cliFailure(res) {
		return -1, newError(args, res)
	}
	return res.code, nil
}

// stoppedMeanwhile reports whether the machine exists but is not running.
func (b *Backend) stoppedMeanwhile(ctx context.Context, id string) bool {
	m, err := b.status(ctx, id)
	return err == nil && m.State != "running"
}

// ensureRunning boots a stopped machine; Create leaves it running already.
func (b *Backend) ensureRunning(ctx context.Context, id string) (machineInfo, error) {
	m, err := b.status(ctx, id)
	if err != nil || m.State == "running" {
		return m, err
	}
	_, err = b.must(ctx, call{args: []string{"machine", "start", "--name", id}})
	return m, err
}

// teeWriters returns stdout and stderr writers that also copy to log; all
// writes are serialized, since exec.Cmd copies the two streams from
// separate goroutines and callers may pass one writer for both.
func teeWriters(stdout, stderr io.Writer, log io.Writer) (io.Writer, io.Writer) {
	mu := &sync.Mutex{}
	mk := func(w io.Writer) io.Writer {
		if w == nil {
			return &lockedWriter{mu: mu, w: log}
		}
		return &lockedWriter{mu: mu, w: io.MultiWriter(w, log)}
	}
	return mk(stdout), mk(stderr)
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
