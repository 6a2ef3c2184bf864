package main

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
)

// TestApplyOnATerminal: with a terminal on stdin, the agent gets a real
// terminal of the same size, and input typed on ours reaches it. The size is
// set right after the start (engines before API 1.42 take no size at
// create), so the agent waits for it as a real one would get SIGWINCH;
// busybox's stty prints nothing and exits 0 while the size is not set yet.
func TestApplyOnATerminal(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	e.write("bottle.hcl", busyboxAgent)
	c, _, _ := e.cmd(t.Context(), "apply", "--auto-approve", "--var", `script=tty; until s=$(stty size 2>/dev/null) && [ -n "$s" ] && [ "$s" != "0 0" ]; do sleep 0.1; done; echo "size $s"; read line; echo "got:$line"`)
	c.Stdout, c.Stderr = nil, nil // all three on the terminal
	ptmx, err := pty.StartWithSize(c, &pty.Winsize{Rows: 33, Cols: 101})
	if err != nil {
		t.Fatal(err)
	}
	defer ptmx.Close()
	var mu sync.Mutex
	var screen bytes.Buffer
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := ptmx.Read(buf)
			mu.Lock()
			screen.Write(buf[:n])
			mu.Unlock()
			if err != nil {
				return // EOF or EIO once the process is gone
			}
		}
	}()
	text := func() string { mu.Lock(); defer mu.Unlock(); return screen.String() }
	e.waitForOr("the agent's terminal size", 2*time.Minute, func() bool {
		return strings.Contains(text(), "size 33 101")
	}, text)
	if _, err := ptmx.Write([]byte("hello\r")); err != nil {
		t.Fatal(err)
	}
	e.waitForOr("the agent to read our input", time.Minute, func() bool {
		return strings.Contains(text(), "got:hello")
	}, text)
	if err := c.Wait(); err != nil {
		t.Fatalf("apply: %v\n%s", err, text())
	}
	if !strings.Contains(text(), "/dev/pts/") {
		t.Errorf("the agent had no terminal:\n%s", text())
	}
}
