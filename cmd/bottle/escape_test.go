package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"

	"github.com/bottle-dev/bottle/runner"
)

// rawControl returns the first control or format character in s other than
// a line break or tab.
func rawControl(s string) (rune, bool) {
	for _, c := range s {
		if c != '\n' && c != '\t' && (unicode.IsControl(c) || unicode.Is(unicode.Cf, c)) {
			return c, true
		}
	}
	return 0, false
}

// TestWatchPrintsQueueTextEscaped runs bottle watch over a queue with a
// hostile file name and a request with a bidi override: the watch reports
// both, escaped.
func TestWatchPrintsQueueTextEscaped(t *testing.T) {
	home := t.TempDir()
	queue := filepath.Join(home, "state", "demo-abcde", "queue")
	if err := os.MkdirAll(queue, 0o700); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		filepath.Join(queue, "..", "metadata.json"):         `{"format_version":1,"identity":"demo-abcde","bottle":"demo","agent":"demo","backend":"docker"}`,
		filepath.Join(queue, "\x1b]0;owned\x07\u202e.json"): `{}`,
		filepath.Join(queue, "req-bidi.json"):               `{"id":"req-bidi","kind":"capability","reason":"need \u202egepmff","dockerfile":["RUN true"]}`,
		filepath.Join(queue, "req-ok.json"):                 `{"id":"req-ok","kind":"capability","reason":"need ffmpeg","dockerfile":["RUN true"]}`,
	}
	for p, c := range files {
		if err := os.WriteFile(p, []byte(c), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	env := map[string]string{"BOTTLE_HOME": home, "DOCKER_HOST": "unix:///nonexistent.sock", "NO_COLOR": "1"}
	ctx, cancel := context.WithCancel(t.Context())
	var out, errOut syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"watch"}, stdio{In: strings.NewReader(""), Out: &out, Err: &errOut}, func(k string) string { return env[k] })
	}()
	wants := []string{
		`demo-abcde: rejected a malformed request: \x1b]0;owned\x07\u202e: request file name`,
		`req-bidi: reason contains the invisible format character U+202E`,
		"demo-abcde: capability request req-ok: need ffmpeg",
	}
	deadline := time.After(20 * time.Second)
	for !containsAll(errOut.String(), wants) {
		select {
		case <-deadline:
			cancel()
			t.Fatalf("watch printed:\n%s\nwant lines with %q", errOut.String(), wants)
		case <-time.After(20 * time.Millisecond):
		}
	}
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("watch exited %d:\n%s", code, errOut.String())
	}
	if c, ok := rawControl(errOut.String() + out.String()); ok {
		t.Errorf("watch wrote %U raw:\n%q", c, errOut.String())
	}
}

func containsAll(s string, wants []string) bool {
	for _, w := range wants {
		if !strings.Contains(s, w) {
			return false
		}
	}
	return true
}

// The output of bottles a watch resumed is the agent's: colours go, every
// other sequence is shown, and the prefix starts every line.
func TestPrefixWriterEscapesAgentOutput(t *testing.T) {
	var b bytes.Buffer
	p := &prefixWriter{mu: &sync.Mutex{}, w: &b, prefix: "demo-abcde | "}
	for _, chunk := range []string{"\x1b[32mok\x1b[0m\tstep 1\n", "half", " a line\x1b]52;c;ZXZpbA==\x07\n\x1b[1A\x1b[2K", "spoof\u202e\n"} {
		if _, err := p.Write([]byte(chunk)); err != nil {
			t.Fatal(err)
		}
	}
	want := "demo-abcde | ok\tstep 1\n" +
		"demo-abcde | half a line\\x1b]52;c;ZXZpbA==\\x07\n" +
		"demo-abcde | \\x1b[1A\\x1b[2Kspoof\\u202e\n"
	if b.String() != want {
		t.Errorf("got\n%q\nwant\n%q", b.String(), want)
	}
}

// The observer escapes every event's message.
func TestObserverEscapesEvents(t *testing.T) {
	var b bytes.Buffer
	o := &humanObserver{w: &b}
	o.Event(runner.Event{Type: runner.EventProgress, Identity: "demo-abcde", Message: "Step 2/3 : RUN x\n\x1b]0;t\x07out\u202e\n"})
	o.Event(runner.Event{Type: runner.EventRequest, Identity: "demo-abcde", Message: "req-1\tneed \x1b[2J"})
	o.Event(runner.Event{Type: runner.EventWatchError, Identity: "demo-abcde", Message: "resume failed:\n\x1b[31mboom\u200b"})
	if c, ok := rawControl(b.String()); ok {
		t.Errorf("observer wrote %U raw:\n%q", c, b.String())
	}
	for _, w := range []string{`demo-abcde: \x1b]0;t\x07out\u202e`, `need \x1b[2J`, `\x1b[31mboom\u200b`} {
		if !strings.Contains(b.String(), w) {
			t.Errorf("observer output lacks %q:\n%s", w, b.String())
		}
	}
}
