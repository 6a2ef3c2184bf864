package docker

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stdcopy"

	"github.com/bottle-dev/bottle/backend"
)

// execPoll is how often Exec asks whether a finished command has been
// reaped; the engine can report the stream's end a moment before the exit.
const execPoll = 20 * time.Millisecond

// execReapTimeout bounds that wait.
const execReapTimeout = 10 * time.Second

// Exec runs spec.Argv inside the running container and returns its exit
// code after its output has been written.
func (b *Backend) Exec(ctx context.Context, id string, spec backend.ExecSpec) (int, error) {
	created, err := b.c.ContainerExecCreate(ctx, id, container.ExecOptions{
		Cmd:          spec.Argv,
		Env:          spec.Env,
		WorkingDir:   spec.Workdir,
		AttachStdin:  spec.Stdin != nil,
		AttachStdout: true,
		AttachStderr: true,
	})
	if err != nil {
		return -1, wrap(err, "exec in %s", id)
	}
	hj, err := b.c.ContainerExecAttach(ctx, created.ID, container.ExecAttachOptions{})
	if err != nil {
		return -1, wrap(err, "exec in %s", id)
	}
	defer hj.Close()
	if spec.Stdin != nil {
		go func() {
			_, _ = io.Copy(hj.Conn, spec.Stdin)
			_ = hj.CloseWrite() // the command sees EOF on its stdin
		}()
	}
	outDone := make(chan error, 1)
	go func() { outDone <- copyOutput(hj, false, spec.Stdout, spec.Stderr) }()
	select {
	case err := <-outDone:
		if err != nil {
			return -1, fmt.Errorf("exec in %s: read output: %w", id, err)
		}
	case <-ctx.Done():
		hj.Close()
		<-outDone
		return -1, ctx.Err()
	}
	return b.execExitCode(ctx, id, created.ID)
}

// execExitCode waits until the engine has recorded the command's exit.
func (b *Backend) execExitCode(ctx context.Context, id, execID string) (int, error) {
	deadline := time.NewTimer(execReapTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(execPoll)
	defer tick.Stop()
	for {
		st, err := b.c.ContainerExecInspect(ctx, execID)
		if err != nil {
			return -1, wrap(err, "exec in %s", id)
		}
		if !st.Running {
			return st.ExitCode, nil
		}
		select {
		case <-ctx.Done():
			return -1, ctx.Err()
		case <-deadline.C:
			return -1, fmt.Errorf("exec in %s: output ended but the command still runs after %v", id, execReapTimeout)
		case <-tick.C:
		}
	}
}

// Logs writes what the agent printed to w, stdout and stderr merged in the
// order the engine recorded them. With follow it streams until the agent
// ends or ctx is done.
func (b *Backend) Logs(ctx context.Context, id string, follow bool, w io.Writer) error {
	info, err := b.c.ContainerInspect(ctx, id)
	if err != nil {
		return wrap(err, "logs of %s", id)
	}
	rc, err := b.c.ContainerLogs(ctx, id, container.LogsOptions{ShowStdout: true, ShowStderr: true, Follow: follow})
	if err != nil {
		return wrap(err, "logs of %s", id)
	}
	defer rc.Close()
	if info.Config != nil && info.Config.Tty {
		_, err = io.Copy(w, rc)
	} else {
		_, err = stdcopy.StdCopy(w, w, rc)
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err != nil {
		return fmt.Errorf("logs of %s: %w", id, err)
	}
	return nil
}
