package main

import (
	"strings"
	"testing"
	"time"
)

// TestExecCaps checks the output caps and stdin of each exec mode
// (reference §3.4), with a MiB of 1 KiB so the caps are crossed quickly:
// buffered 11 per stream (SIGPIPE, 141) and 20 in all (`Error: … output
// too large`), --stream 11 in all (`error: streaming output exceeded`,
// exit 1, stdin never at EOF), -i neither.
func TestExecCaps(t *testing.T) {
	needDocker(t)
	t.Parallel()
	f := newFake(t)
	f.env["FAKESMOLVM_MIB_BYTES"] = "1024"
	f.check(step{args: "machine create --name caps --image -", stdin: string(saveImage(t, "busybox:latest"))})
	f.check(step{args: "machine start --name caps"})
	// 1000 × 12 bytes: 12,000 bytes on a stream, past 11 × 1024.
	const over = "i=0; while [ $i -lt 1000 ]; do echo 0123456789a; i=$((i+1)); done"
	// 900 × 12 bytes: 10,800, under the cap; twice that is over 20 × 1024.
	const under = "i=0; while [ $i -lt 900 ]; do echo 0123456789a; i=$((i+1)); done"
	exec := func(mode, script string) []string {
		argv := []string{"machine", "exec", "--name", "caps"}
		if mode != "" {
			argv = append(argv, strings.Fields(mode)...)
		}
		return append(argv, "--", "sh", "-c", script)
	}

	// Buffered: up to the cap each stream is whole; past it the command
	// gets SIGPIPE and the stream stops at the cap.
	out, _ := f.check(step{argv: exec("", "seq 1 2000; exit 4"), code: 4})
	if len(out) != 8893 {
		t.Errorf("buffered under the cap: %d bytes, want 8893", len(out))
	}
	out, _ = f.check(step{argv: exec("", over+"; echo never-reached"), code: sigpipeExit})
	if len(out) != 11*1024 || strings.Contains(out, "never") {
		t.Errorf("buffered past the cap: %d bytes, want %d", len(out), 11*1024)
	}
	_, errOut := f.check(step{argv: exec("", "("+under+") >&2; "+under), code: 1,
		stderr: []string{"Error: agent operation failed: exec: command output too large (21600 bytes; limit 20480)"}})
	if strings.Contains(errOut, "0123456789a") {
		t.Errorf("a too-large buffered exec printed output: %.80q", errOut)
	}

	// --stream: relayed as it comes, ended at 11 "MiB" over both streams.
	out, errOut = f.check(step{argv: exec("--stream", "("+over+") >&2; "+over), code: 1,
		stderr: []string{"error: streaming output exceeded 11264 byte cap; exec terminated (output truncated)"}})
	if n := len(out) + len(errOut); n < 11*1024 || n > 13*1024 {
		t.Errorf("--stream relayed %d bytes, want about the cap", n)
	}
	f.check(step{argv: exec("--stream", "seq 1 2000; exit 5"), code: 5})
	// Its stdin is open and never ends: cat waits until the timeout.
	start := time.Now()
	f.check(step{argv: exec("--stream --timeout 2s", "cat; echo eof"), stdin: "ignored", code: timeoutExit,
		notStdout: []string{"eof", "ignored"}})
	if d := time.Since(start); d < 2*time.Second {
		t.Errorf("cat under --stream ended after %v: its stdin reached EOF", d)
	}

	// -i: no cap, and the end of our stdin is the guest's EOF.
	out, _ = f.check(step{argv: exec("-i", over+"; "+over+"; "+over), stdin: ""})
	if len(out) != 36000 {
		t.Errorf("-i: %d bytes, want all 36000", len(out))
	}
	f.check(step{argv: exec("-i", "cat; echo eof"), stdin: "in\n", stdout: []string{"in\neof\n"}})
}
