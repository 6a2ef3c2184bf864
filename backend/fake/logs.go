package fake

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sync"

	"github.com/bottle-dev/bottle/backend"
)

// Logs writes the main process's output; with follow it keeps writing
// until the process ends or ctx is done.
func (b *Backend) Logs(ctx context.Context, id string, follow bool, w io.Writer) error {
	if err := b.begin(Call{Op: OpLogs, ID: id}); err != nil {
		return err
	}
	in, err := b.lookup(id)
	if err != nil {
		return fmt.Errorf("logs: %w", err)
	}
	pos := 0
	for {
		in.mu.Lock()
		chunk := bytes.Clone(in.log[pos:])
		pos = len(in.log)
		running, ch := in.state == backend.StateRunning, in.changed
		in.mu.Unlock()
		if _, err := w.Write(chunk); err != nil {
			return err
		}
		if !follow || !running {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// logWriter appends to the instance's log.
type logWriter struct{ in *Instance }

func (l *logWriter) Write(p []byte) (int, error) {
	l.in.mu.Lock()
	defer l.in.mu.Unlock()
	l.in.log = append(l.in.log, p...)
	l.in.notify()
	return len(p), nil
}

// gate forwards writes to a caller's stream until closed (detach, or the
// end of the run), serializing them; a nil w discards.
type gate struct {
	mu     sync.Mutex
	w      io.Writer
	closed bool
}

func (g *gate) Write(p []byte) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed || g.w == nil {
		return len(p), nil
	}
	_, _ = g.w.Write(p)
	return len(p), nil
}

func (g *gate) close() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.closed = true
}

// crlfWriter is a terminal's output translation.
type crlfWriter struct{ w io.Writer }

func (c *crlfWriter) Write(p []byte) (int, error) {
	if _, err := c.w.Write(bytes.ReplaceAll(p, []byte("\n"), []byte("\r\n"))); err != nil {
		return 0, err
	}
	return len(p), nil
}
