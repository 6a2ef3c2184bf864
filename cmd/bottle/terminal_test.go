package main

import (
	"bytes"
	"io"
	"os/exec"
	"testing"

	"github.com/creack/pty"
)

// TestNoTerminalQueriesAtStart: no command may write escape sequences to the
// user's terminal just by starting (bubbletea's init queries the background
// colour unless noquery runs first).
func TestNoTerminalQueriesAtStart(t *testing.T) {
	c := exec.Command("bottle", "version")
	ptmx, err := pty.Start(c)
	if err != nil {
		t.Fatal(err)
	}
	defer ptmx.Close()
	var out bytes.Buffer
	_, _ = io.Copy(&out, ptmx) // ends with EIO when the process exits
	if err := c.Wait(); err != nil {
		t.Fatalf("bottle version: %v\n%q", err, out.String())
	}
	if bytes.Contains(out.Bytes(), []byte("\x1b")) {
		t.Fatalf("bottle version wrote escape sequences to the terminal: %q", out.String())
	}
	if !bytes.Contains(out.Bytes(), []byte("bottle ")) {
		t.Fatalf("unexpected output %q", out.String())
	}
}
