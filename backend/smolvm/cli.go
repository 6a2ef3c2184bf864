package smolvm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/bottle-dev/bottle/backend"
)

const (
	// stderrCap bounds how much of smolvm's stderr an error carries.
	stderrCap = 4 << 10
	// waitDelay is how long Wait lets an interrupted smolvm (SIGINT on
	// cancel) and its inherited pipes linger before they are forced closed.
	waitDelay = 5 * time.Second
)

// ErrKVM is wrapped by errors smolvm reports when the host's KVM is
// missing or not accessible.
var ErrKVM = errors.New("smolvm cannot use KVM: it needs /dev/kvm, readable and writable by this user")

// call is one smolvm invocation.
type call struct {
	args   []string
	stdin  io.Reader
	stdout io.Writer // nil: captured into result.stdout
	stderr io.Writer // optional copy of stderr (it is always captured, capped)
}

// result is what a finished smolvm process left behind.
type result struct {
	stdout []byte
	stderr string // the last stderrCap bytes
	code   int
}

// command is smolvm with args, never run through a shell. Cancelling ctx
// sends SIGINT, which lets smolvm detach from the guest cleanly; WaitDelay
// bounds how long it (and anything holding its pipes) may take after that.
func (b *Backend) command(ctx context.Context, args []string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, b.bin, args...)
	cmd.Env = append(os.Environ(), b.env...)
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = waitDelay
	return cmd
}

// run executes smolvm once. A non-zero exit is not an error here (exec
// passes the guest's code through); failing to run smolvm at all, or ctx
// ending, is.
func (b *Backend) run(ctx context.Context, c call) (result, error) {
	cmd := b.command(ctx, c.args)
	cmd.Stdin = c.stdin
	var out bytes.Buffer
	cmd.Stdout = c.stdout
	if c.stdout == nil {
		cmd.Stdout = &out
	}
	tail := &tailBuffer{max: stderrCap}
	cmd.Stderr = tail
	if c.stderr != nil {
		cmd.Stderr = io.MultiWriter(c.stderr, tail)
	}
	err := cmd.Run()
	res := result{stdout: out.Bytes(), stderr: tail.String()}
	return b.finish(ctx, cmd, c.args, res, err)
}

// finish turns how cmd ended into res.code or an error.
func (b *Backend) finish(ctx context.Context, cmd *exec.Cmd, args []string, res result, err error) (result, error) {
	var ee *exec.ExitError
	switch {
	case err == nil:
		return res, nil
	case errors.Is(err, exec.ErrNotFound) || errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.EACCES):
		return res, fmt.Errorf("smolvm binary %q not found or not executable: install smolvm or set "+
			"BOTTLE_SMOLVM to its path: %w", b.bin, err)
	case ctx.Err() != nil:
		return res, fmt.Errorf("%s: %w", describe(args), context.Cause(ctx))
	case errors.As(err, &ee) && ee.Exited():
		res.code = ee.ExitCode()
		return res, nil
	case errors.Is(err, exec.ErrWaitDelay) && cmd.ProcessState != nil && cmd.ProcessState.Exited():
		// smolvm exited but something it started kept its pipes open.
		res.code = cmd.ProcessState.ExitCode()
		return res, nil
	}
	return res, fmt.Errorf("%s: %w (stderr: %s)", describe(args), err, capString(res.stderr, 512))
}

// must is run for commands that succeed with exit 0; anything else becomes
// an *Error that wraps ErrNotFound, ErrConflict or ErrKVM where it applies.
func (b *Backend) must(ctx context.Context, c call) (result, error) {
	res, err := b.run(ctx, c)
	if err != nil {
		return res, err
	}
	if res.code != 0 {
		return res, newError(c.args, res)
	}
	return res, nil
}

// Error is a smolvm command that failed.
type Error struct {
	// Command is the smolvm subcommand and machine, never its env values.
	Command  string
	ExitCode int
	// Stderr is the end of smolvm's stderr.
	Stderr string
	kind   error
}

// Error says which smolvm command failed and what smolvm printed.
func (e *Error) Error() string {
	msg := strings.TrimSpace(e.Stderr)
	if msg == "" {
		msg = "no output"
	}
	if e.kind == ErrKVM {
		return fmt.Sprintf("%s: %v; smolvm said: %s", e.Command, ErrKVM, msg)
	}
	return fmt.Sprintf("%s: exit %d: %s", e.Command, e.ExitCode, msg)
}

// Unwrap returns the backend error kind (ErrNotFound, ErrConflict, ErrKVM).
func (e *Error) Unwrap() error { return e.kind }

// Stable substrings of smolvm's error lines (reference §5): match on exit
// code plus these, never on whole lines.
var (
	notFoundRE = regexp.MustCompile(`vm not found|machine '[^']*' not found`)
	conflictRE = regexp.MustCompile(`already exists`)
	kvmRE      = regexp.MustCompile(`kvm not available|kvm permission denied`)
)

// cliLineRE matches the failure lines smolvm itself prints (reference
// §3.4, §5): a runtime error, `Error: <kind>: …`, with one of the kinds
// of its error enum, and the --stream cap, `error: streaming output
// exceeded … cap` (lower case, printed mid-stream, so perhaps after guest
// output that did not end its line).
var cliLineRE = regexp.MustCompile(`^Error: (vm not found|config operation failed|agent operation failed|` +
	`invalid vm state|mount source not found|invalid mount path|kvm |.*output too large)|` +
	`error: streaming output exceeded \d+ byte cap`)

// cliFailure reports whether a machine exec ended with smolvm's own
// failure rather than the guest command's exit code: exit 1 with one of
// smolvm's error lines last on stderr, or exit 2 with a usage error. A
// guest command could print such a line itself; it then gets an error
// instead of its code, never the reverse.
func cliFailure(res result) bool {
	lines := strings.Split(strings.TrimRight(res.stderr, "\r\n"), "\n")
	last := strings.TrimSpace(lines[len(lines)-1])
	switch res.code {
	case 1:
		return cliLineRE.MatchString(last)
	case 2:
		return strings.HasPrefix(last, "For more information, try '--help'") && strings.Contains(res.stderr, "error: ")
	}
	return false
}

func newError(args []string, res result) *Error {
	e := &Error{Command: describe(args), ExitCode: res.code, Stderr: capString(res.stderr, 1024)}
	if res.code == 1 {
		s := strings.ToLower(res.stderr)
		switch {
		case kvmRE.MatchString(s):
			e.kind = ErrKVM
		case conflictRE.MatchString(s):
			e.kind = backend.ErrConflict
		case notFoundRE.MatchString(s):
			e.kind = backend.ErrNotFound
		}
	}
	return e
}

// describe names a smolvm call for errors: the subcommand and --name, but
// no other argument (env values may be secrets).
func describe(args []string) string {
	parts := []string{"smolvm"}
	for i, a := range args {
		switch {
		case strings.HasPrefix(a, "-") && a != "--name":
			if i == 0 {
				parts = append(parts, a)
			}
		case a == "--name" && i+1 < len(args):
			return strings.Join(append(parts, "--name", args[i+1]), " ")
		case i < 2:
			parts = append(parts, a)
		}
	}
	return strings.Join(parts, " ")
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}

func capString(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}
