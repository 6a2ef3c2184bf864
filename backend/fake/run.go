package fake

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/bottle-dev/bottle/backend"
)

// start runs the main process with the given streams (nil ones go to the
// log only); gates are closed when the run ends.
func (in *Instance) start(a Agent, stdin io.Reader, stdout, stderr io.Writer, gates ...*gate) (*agentRun, error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.removed {
		return nil, fmt.Errorf("start %s: %w", in.name, backend.ErrNotFound)
	}
	if in.state == backend.StateRunning {
		return nil, fmt.Errorf("start %s: already running: %w", in.name, backend.ErrConflict)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &agentRun{ctx: ctx, cancel: cancel, done: make(chan struct{}), gates: gates}
	in.run, in.state, in.exit = r, backend.StateRunning, 0
	in.notify()

	logw := &logWriter{in: in}
	out, errw := teeTo(stdout, logw), teeTo(stderr, logw)
	if in.spec.TTY {
		// A terminal merges the streams and turns "\n" into "\r\n".
		out = &crlfWriter{w: out}
		errw = out
	}
	if stdin == nil {
		stdin = strings.NewReader("")
	}
	go func() {
		code := a(ctx, in, backend.IO{Stdin: stdin, Stdout: out, Stderr: errw})
		in.finish(r, code)
	}()
	return r, nil
}

func teeTo(w io.Writer, log io.Writer) io.Writer {
	if w == nil {
		return log
	}
	return io.MultiWriter(w, log)
}

// Shell is the agent of images that have none: it runs the instance's
// Spec.Command (or the image's CMD) with the fake's shell. Custom agents
// may call it to run the command after doing their own part.
func Shell(ctx context.Context, in *Instance, streams backend.IO) int {
	argv := in.spec.Command
	if len(argv) == 0 {
		argv = in.cmd
	}
	if len(argv) == 0 {
		return 0
	}
	return in.shell().runArgv(ctx, argv, in.env, in.workdir, stdio{in: streams.Stdin, out: streams.Stdout, err: streams.Stderr})
}

// shell is the instance's shell; with a terminal, test -t and stty see it.
func (in *Instance) shell() *shell {
	sh := &shell{fs: in.fs}
	if in.spec.TTY {
		sh.term = in.termSize
	}
	return sh
}

// Run starts the main process attached to streams and returns its exit
// code. Cancelling ctx detaches: the process keeps running and nothing
// more is written to streams.
func (b *Backend) Run(ctx context.Context, id string, streams backend.IO) (int, error) {
	if err := b.begin(Call{Op: OpRun, ID: id}); err != nil {
		return -1, err
	}
	in, err := b.lookup(id)
	if err != nil {
		return -1, fmt.Errorf("run: %w", err)
	}
	out, errw := &gate{w: streams.Stdout}, &gate{w: streams.Stderr}
	var stdin io.Reader
	if in.spec.OpenStdin {
		stdin = streams.Stdin
	}
	r, err := in.start(b.agentFor(in.spec.Image), stdin, out, errw, out, errw)
	if err != nil {
		return -1, err
	}
	if in.spec.TTY && streams.Resize != nil {
		go func() {
			for {
				select {
				case ts, ok := <-streams.Resize:
					if !ok {
						return
					}
					in.setTerm(ts)
				case <-r.done:
					return
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	select {
	case <-r.done:
		return r.code, nil
	case <-ctx.Done():
		out.close()
		errw.close()
		return -1, ctx.Err()
	}
}

// Start starts the main process detached; its output goes to the log.
// Starting a running instance does nothing, as with Docker.
func (b *Backend) Start(ctx context.Context, id string) error {
	if err := b.begin(Call{Op: OpStart, ID: id}); err != nil {
		return err
	}
	in, err := b.lookup(id)
	if err != nil {
		return fmt.Errorf("start: %w", err)
	}
	_, err = in.start(b.agentFor(in.spec.Image), nil, nil, nil)
	if errors.Is(err, backend.ErrConflict) {
		return nil
	}
	return err
}

// Exec runs argv with the fake's shell inside the running instance.
func (b *Backend) Exec(ctx context.Context, id string, spec backend.ExecSpec) (int, error) {
	if err := b.begin(Call{Op: OpExec, ID: id, Argv: spec.Argv}); err != nil {
		return -1, err
	}
	in, err := b.lookup(id)
	if err != nil {
		return -1, fmt.Errorf("exec: %w", err)
	}
	in.mu.Lock()
	r, state := in.run, in.state
	in.mu.Unlock()
	if state != backend.StateRunning {
		return -1, fmt.Errorf("exec in %s: the instance is not running", id)
	}
	if len(spec.Argv) == 0 {
		return -1, fmt.Errorf("exec in %s: no command", id)
	}
	// The command dies with the instance.
	ectx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(r.ctx, cancel)
	defer stop()
	sh := &shell{fs: in.fs}
	return sh.runArgv(ectx, spec.Argv, mergeEnv(in.env, spec.Env), firstNonEmpty(spec.Workdir, in.workdir),
		stdio{in: spec.Stdin, out: spec.Stdout, err: spec.Stderr}), nil
}
