package smolvm

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/bottle-dev/bottle/backend"
)

// Logs writes what the agent printed to w. smolvm has no logs command, so
// an attached run's output is the host log Run teed, and a detached run's
// is agent.log in the guest, read through exec. With follow, both are
// polled until the agent has exited or ctx ends.
func (b *Backend) Logs(ctx context.Context, id string, follow bool, w io.Writer) error {
	if err := checkID(id); err != nil {
		return err
	}
	f, err := os.Open(b.hostPath(id, hostLog))
	switch {
	case err == nil:
		defer f.Close()
		return b.hostLogs(ctx, id, f, follow, w)
	case !errors.Is(err, fs.ErrNotExist):
		return err
	}
	return b.guestLogs(ctx, id, follow, w)
}

func (b *Backend) hostLogs(ctx context.Context, id string, f *os.File, follow bool, w io.Writer) error {
	if _, err := io.Copy(w, f); err != nil || !follow {
		return err
	}
	t := time.NewTicker(b.poll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-t.C:
		}
		// Decide "ended" before reading, so the last output is not missed.
		_, done := b.readHostExit(id)
		if !done {
			inst, err := b.Inspect(ctx, id)
			if err != nil {
				return err
			}
			done = inst.State == backend.StateExited
		}
		if _, err := io.Copy(w, f); err != nil || done {
			return err
		}
	}
}

func (b *Backend) guestLogs(ctx context.Context, id string, follow bool, w io.Writer) error {
	m, err := b.status(ctx, id)
	if err != nil {
		return err
	}
	if m.State != "running" {
		// The agent cannot be running: read the log once.
		return b.withRunning(ctx, id, func() error {
			_, _, err := b.logChunk(ctx, id, 0, w)
			return err
		})
	}
	t := time.NewTicker(b.poll)
	defer t.Stop()
	var off int64
	for {
		n, done, err := b.logChunk(ctx, id, off, w)
		off += n
		if err != nil || !follow || done {
			return err
		}
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-t.C:
		}
	}
}

// logChunk writes the guest's agent.log from byte offset off and reports
// how many bytes came and whether the agent has ended. A machine that
// stopped counts as ended. It reads through `exec -i` with an empty stdin,
// which has no output cap (buffered exec stops at about 11 MiB).
func (b *Backend) logChunk(ctx context.Context, id string, off int64, w io.Writer) (int64, bool, error) {
	cw := &countWriter{w: w}
	args := []string{"machine", "exec", "--name", id, "-i", "--", "sh", "-c", logSh, "bottle-logs",
		strconv.FormatInt(off+1, 10)}
	res, err := b.run(ctx, call{args: args, stdout: cw})
	switch {
	case err != nil:
		return cw.n, false, err
	case cliFailure(res):
		if strings.Contains(res.stderr, "is not running") {
			return cw.n, true, nil
		}
		return cw.n, false, newError(args, res)
	case res.code != 0:
		return cw.n, false, newError(args, res)
	}
	return cw.n, strings.Contains(res.stderr, "bottle:done"), nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
