package dashboard

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"sync"

	"golang.org/x/term"

	"github.com/bottle-dev/bottle/runner"
	"github.com/bottle-dev/bottle/runner/state"
)

// Source is everything the dashboard reads and does. NewSource provides it
// from a *runner.Runner; tests use a fake.
type Source interface {
	// Refresh is every bottle's row and every pending request, read in
	// one pass over the state dirs (each queue taken in once). Unless full
	// is set it may re-read only the state dirs holding paths (changed
	// files under the state root, from runner/watch) and reuse its last
	// read of the others.
	Refresh(ctx context.Context, paths []string, full bool) ([]runner.BottleStatus, []runner.PendingRequest, error)
	// Approve grants the request whose frozen digest is digest, and no
	// other: the dashboard passes the digest of the lines it showed.
	Approve(ctx context.Context, identity, requestID, digest string) (*runner.Approval, error)
	Deny(ctx context.Context, identity, requestID, reason string) (*state.Request, error)
	Stop(ctx context.Context, identity string) (preserved bool, err error)
	// Resume relaunches a preserved bottle in the background.
	Resume(ctx context.Context, identity string) error
	// Logs writes what the agent printed so far to w (no follow).
	Logs(ctx context.Context, identity string, w io.Writer) error
	// AuditTail returns the last n events of the audit log, oldest first.
	AuditTail(ctx context.Context, identity string, n int) ([]state.AuditEvent, error)
}

// NewSource adapts r: every action is the runner method the matching bottle
// command calls.
func NewSource(r *runner.Runner) Source { return runnerSource{r, r.NewLister()} }

type runnerSource struct {
	r *runner.Runner
	l *runner.Lister
}

func (s runnerSource) Refresh(ctx context.Context, paths []string, full bool) ([]runner.BottleStatus, []runner.PendingRequest, error) {
	return s.l.Refresh(ctx, paths, full)
}

func (s runnerSource) Approve(ctx context.Context, identity, requestID, digest string) (*runner.Approval, error) {
	return s.r.Approve(ctx, identity, requestID, runner.ApproveOptions{Digest: digest})
}

func (s runnerSource) Deny(ctx context.Context, identity, requestID, reason string) (*state.Request, error) {
	return s.r.Deny(ctx, identity, requestID, reason)
}

func (s runnerSource) Stop(ctx context.Context, identity string) (bool, error) {
	return s.r.Stop(ctx, identity)
}

func (s runnerSource) Resume(ctx context.Context, identity string) error {
	// Detached: the dashboard owns no terminal to give the agent, and the
	// bottle must outlive the dashboard.
	_, err := s.r.Resume(ctx, identity, runner.ResumeOptions{Detach: true})
	return err
}

func (s runnerSource) Logs(ctx context.Context, identity string, w io.Writer) error {
	return s.r.Logs(ctx, identity, false, w)
}

// auditTailBytes bounds how much of audit.jsonl is read: the log is
// append-only and grows with every launch.
const auditTailBytes = 64 << 10

func (s runnerSource) AuditTail(_ context.Context, identity string, n int) ([]state.AuditEvent, error) {
	dir, err := s.r.Home.Open(identity)
	if err != nil {
		return nil, err
	}
	return readAuditTail(dir.Join(state.AuditFile), n, auditTailBytes)
}

// readAuditTail parses the last n lines of the audit log at path, reading at
// most limit bytes from its end. A missing log is empty; a line that does
// not parse is kept as an event named "?" so that it is still visible.
func readAuditTail(path string, n int, limit int64) ([]state.AuditEvent, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	skipFirst := false
	if off := fi.Size() - limit; off > 0 {
		if _, err := f.Seek(off, io.SeekStart); err != nil {
			return nil, fmt.Errorf("audit log: %w", err)
		}
		skipFirst = true // it starts mid-line
	}
	data, err := io.ReadAll(io.LimitReader(f, limit))
	if err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	var lines []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), int(limit)+1)
	for sc.Scan() {
		if skipFirst {
			skipFirst = false
			continue
		}
		if l := strings.TrimSpace(sc.Text()); l != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	out := make([]state.AuditEvent, 0, len(lines))
	for _, l := range lines {
		var ev state.AuditEvent
		if err := json.Unmarshal([]byte(l), &ev); err != nil || ev.Event == "" {
			ev = state.AuditEvent{Event: "?", Details: map[string]string{"line": l}}
		}
		out = append(out, ev)
	}
	return out, nil
}

// tailBuffer is an io.Writer that keeps only the last limit bytes written, so
// that a bottle with a huge log never costs more than max to show.
type tailBuffer struct {
	mu      sync.Mutex
	limit   int
	buf     []byte
	dropped bool
}

func newTailBuffer(limit int) *tailBuffer { return &tailBuffer{limit: limit} }

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := len(p)
	if len(p) >= t.limit {
		p = p[len(p)-t.limit:]
		t.buf, t.dropped = t.buf[:0], true
	}
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.limit {
		t.buf = append(t.buf[:0:0], t.buf[len(t.buf)-t.limit:]...)
		t.dropped = true
	}
	return n, nil
}

// Lines returns the kept text as lines, without a partial first line when
// earlier output was dropped, and without the empty line after a final
// newline.
func (t *tailBuffer) Lines() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := string(t.buf)
	if t.dropped {
		if i := strings.IndexByte(s, '\n'); i >= 0 {
			s = s[i+1:]
		}
	}
	s = strings.TrimRight(s, "\r\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// ErrNoTerminal is returned by RequireTerminal.
var ErrNoTerminal = errors.New("bottle dashboard needs a terminal on stdin and stdout; " +
	"without one, list pending requests with bottle requests and answer them with bottle approve or bottle deny")

// RequireTerminal returns ErrNoTerminal unless both in and out are
// terminals: the dashboard takes over the screen and reads single keys.
func RequireTerminal(in io.Reader, out io.Writer) error {
	for _, f := range []any{in, out} {
		fd, ok := f.(interface{ Fd() uintptr })
		if !ok || !term.IsTerminal(int(fd.Fd())) {
			return ErrNoTerminal
		}
	}
	return nil
}
