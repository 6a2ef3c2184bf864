package main

import (
	"bytes"
	"fmt"
	"strconv"
	"sync"
)

// The output limits of `machine exec` (reference §3.4), in MiB:
//   - buffered (no -i, -t or --stream): the guest agent reads at most
//     about 11 MiB of each stream and then stops reading, so the command
//     dies of SIGPIPE (exit 141); when both streams together exceed 20 MiB
//     the CLI fails with `Error: … output too large` and prints nothing else.
//   - --stream: after 11 MiB of stdout and stderr together the client ends
//     the session with a lower-case `error: streaming output exceeded … cap`
//     line and exit 1.
//   - -i (and -t): no limit.
const (
	bufferedStreamMiB = 11
	bufferedTotalMiB  = 20
	streamTotalMiB    = 11
	// sigpipeExit is how a shell reports a command killed by SIGPIPE.
	sigpipeExit = 141
)

// mib is the size of one MiB in the caps: 1<<20, unless
// FAKESMOLVM_MIB_BYTES sets a smaller unit so the fake's own tests can
// cross the caps with kilobytes.
func (a *app) mib() int {
	if n, err := strconv.Atoi(a.env("FAKESMOLVM_MIB_BYTES")); err == nil && n > 0 {
		return n
	}
	return 1 << 20
}

// capBuffer keeps up to max bytes of one buffered-mode stream. The first
// byte past max closes over (once), as the agent stopping its read would
// SIGPIPE the command; later bytes are dropped so the copy can drain.
type capBuffer struct {
	mu     sync.Mutex
	max    int
	buf    bytes.Buffer
	over   bool
	onOver func()
}

func (c *capBuffer) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.over {
		return len(p), nil
	}
	if room := c.max - c.buf.Len(); len(p) > room {
		c.buf.Write(p[:room])
		c.over = true
		c.onOver()
		return len(p), nil
	}
	c.buf.Write(p)
	return len(p), nil
}

func (c *capBuffer) overflowed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.over
}

func (c *capBuffer) bytes() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.Bytes()
}

// streamCap counts what --stream relays over both streams. Each write is
// relayed whole, then the total is checked, as the client does per frame:
// once it reaches max, onCap runs (once) and later writes are dropped.
type streamCap struct {
	mu    sync.Mutex
	max   int
	total int
	hit   bool
	onCap func()
}

// writer returns the counting side for one stream.
func (s *streamCap) writer(w interface{ Write([]byte) (int, error) }) *capWriter {
	return &capWriter{s: s, w: w}
}

func (s *streamCap) reached() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hit
}

type capWriter struct {
	s *streamCap
	w interface{ Write([]byte) (int, error) }
}

func (c *capWriter) Write(p []byte) (int, error) {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	if c.s.hit {
		return len(p), nil
	}
	c.w.Write(p) //nolint:errcheck // a closed client stdout loses the output, as on the real CLI
	c.s.total += len(p)
	if c.s.total >= c.s.max {
		c.s.hit = true
		c.s.onCap()
	}
	return len(p), nil
}

// streamCapError is the line the client prints when --stream hits its cap.
func streamCapError(max int) string {
	return fmt.Sprintf("error: streaming output exceeded %d byte cap; exec terminated (output truncated)\n", max)
}

// tooLargeError is the buffered-mode failure over the total budget.
func tooLargeError(total, max int) error {
	return fmt.Errorf("agent operation failed: exec: command output too large (%d bytes; limit %d). "+
		"Redirect large output to a file and download it via the files API", total, max)
}
