package docker

import (
	"context"
	"io"
	"time"

	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stdcopy"

	"github.com/bottle-dev/bottle/backend"
)

// Run starts the agent attached to streams and returns its exit code once it
// has ended and all of its output has been written. Cancelling ctx detaches
// (the agent keeps running) and returns ctx's error.
func (b *Backend) Run(ctx context.Context, id string, streams backend.IO) (int, error) {
	// Ends the wait request and the resize forwarding when Run returns,
	// whichever way it returns.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	info, err := b.c.ContainerInspect(ctx, id)
	if err != nil {
		return -1, wrap(err, "run %s", id)
	}
	tty := info.Config != nil && info.Config.Tty
	attachStdin := streams.Stdin != nil && info.Config != nil && info.Config.OpenStdin

	// Both the wait and the attach are in place before the start, so that
	// neither an agent that exits at once nor its first output is missed.
	// ContainerWait has registered with the engine when it returns.
	waitC, errC := b.c.ContainerWait(ctx, id, container.WaitConditionNextExit)
	hj, err := b.c.ContainerAttach(ctx, id, container.AttachOptions{
		Stream: true, Stdin: attachStdin, Stdout: true, Stderr: true,
	})
	if err != nil {
		return -1, wrap(err, "attach %s", id)
	}
	defer hj.Close()

	outDone := make(chan error, 1)
	go func() { outDone <- copyOutput(hj, tty, streams.Stdout, streams.Stderr) }()
	if attachStdin {
		// This goroutine may outlive Run while it waits on a Read that
		// cannot be interrupted (a terminal); it ends at the next input or
		// EOF, and writes to a closed connection are harmless.
		go func() {
			_, _ = io.Copy(hj.Conn, streams.Stdin)
			// EOF on our stdin becomes EOF on the agent's (StdinOnce).
			_ = hj.CloseWrite()
		}()
	}

	if err := b.c.ContainerStart(ctx, id, container.StartOptions{}); err != nil {
		return -1, wrap(err, "start %s", id)
	}
	if tty && streams.Resize != nil {
		go b.forwardResize(ctx, id, streams.Resize)
	}

	code, err := waitResult(ctx, id, waitC, errC)
	if err != nil {
		hj.Close() // unblocks copyOutput so it stops writing to the caller
		<-outDone
		return -1, err
	}
	// The engine closes the attach stream after the last byte of output; a
	// result returned before that would lose the end of the output. The
	// wait is bounded: the attach stream of a force-removed container is
	// not always closed by older engines.
	drain := time.NewTimer(outputDrain)
	defer drain.Stop()
	select {
	case <-outDone:
	case <-drain.C:
		hj.Close()
		<-outDone
	case <-ctx.Done():
		hj.Close()
		<-outDone
		return -1, ctx.Err()
	}
	return code, nil
}

// outputDrain bounds how long Run waits for the rest of the output once
// the agent has exited.
const outputDrain = 5 * time.Second

// copyOutput copies an attach stream to the caller: raw for a TTY (the
// terminal has merged stdout and stderr), demultiplexed otherwise.
func copyOutput(hj types.HijackedResponse, tty bool, stdout, stderr io.Writer) error {
	if stdout == nil {
		stdout = io.Discard
	}
	if stderr == nil {
		stderr = io.Discard
	}
	if tty {
		_, err := io.Copy(stdout, hj.Reader)
		return err
	}
	_, err := stdcopy.StdCopy(stdout, stderr, hj.Reader)
	return err
}

// forwardResize applies terminal sizes to the agent's TTY until ctx ends or
// the channel closes.
func (b *Backend) forwardResize(ctx context.Context, id string, sizes <-chan backend.TermSize) {
	for {
		select {
		case <-ctx.Done():
			return
		case s, ok := <-sizes:
			if !ok {
				return
			}
			// A failed resize (the agent just exited) is not worth
			// interrupting a session for; the next one may succeed.
			_ = b.c.ContainerResize(ctx, id, container.ResizeOptions{Height: uint(s.Rows), Width: uint(s.Cols)})
		}
	}
}
