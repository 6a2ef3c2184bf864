package smolvm

import (
	"context"
	"io"
	"os"
	"time"

	"github.com/creack/pty"

	"github.com/bottle-dev/bottle/backend"
)

// defaultSize is the terminal size until the caller sends one.
var defaultSize = pty.Winsize{Rows: 24, Cols: 80}

// runTTY runs smolvm on a new host pseudo-terminal (its stdin, stdout and
// stderr): `exec -t` is meant to run from a terminal, and the pty is how
// the caller's Resize events reach the guest, since smolvm forwards its
// own terminal's size. Output (stdout and stderr merged, as on any
// terminal) goes to out; stdin, when set, is copied in.
func (b *Backend) runTTY(ctx context.Context, args []string, stdin io.Reader, out io.Writer, resize <-chan backend.TermSize) (result, error) {
	size := defaultSize
	select {
	case s, ok := <-resize: // a size sent before the start applies from the start
		if ok && s.Rows > 0 && s.Cols > 0 {
			size = pty.Winsize{Rows: s.Rows, Cols: s.Cols}
		}
	default:
	}
	cmd := b.command(ctx, args)
	ptmx, err := pty.StartWithSize(cmd, &size)
	if err != nil {
		return b.finish(ctx, cmd, args, result{}, err)
	}
	tail := &tailBuffer{max: stderrCap}
	copied := make(chan struct{})
	go func() {
		// Ends with EIO once every holder of the terminal has exited.
		io.Copy(io.MultiWriter(out, tail), ptmx) //nolint:errcheck // EIO is the normal end
		close(copied)
	}()
	if stdin != nil {
		go io.Copy(ptmx, stdin) //nolint:errcheck // ends when either side closes
	}
	stop := make(chan struct{})
	if resize != nil {
		go func() {
			for {
				select {
				case <-stop:
					return
				case s, ok := <-resize:
					if !ok {
						return
					}
					pty.Setsize(ptmx, &pty.Winsize{Rows: s.Rows, Cols: s.Cols}) //nolint:errcheck // cosmetic
				}
			}
		}()
	}
	werr := cmd.Wait()
	close(stop)
	drainAndClose(ptmx, copied)
	return b.finish(ctx, cmd, args, result{stderr: tail.String()}, werr)
}

// drainAndClose lets the output copier read what is left, then closes the
// pty (which unblocks a copier stuck on a terminal someone still holds).
func drainAndClose(ptmx *os.File, copied <-chan struct{}) {
	t := time.NewTimer(waitDelay)
	defer t.Stop()
	select {
	case <-copied:
	case <-t.C:
	}
	ptmx.Close()
	select {
	case <-copied:
	case <-time.After(time.Second):
	}
}
