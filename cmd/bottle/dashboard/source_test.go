package dashboard

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/bottle-dev/bottle/runner"
	"github.com/bottle-dev/bottle/runner/state"
)

func TestReadAuditTail(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, state.AuditFile)
	if evs, err := readAuditTail(path, 5, 1<<10); err != nil || evs != nil {
		t.Fatalf("missing log: %v, %v", evs, err)
	}
	var b strings.Builder
	for i := range 50 {
		fmt.Fprintf(&b, `{"time":"2026-03-14T15:00:%02dZ","event":"e%d"}`+"\n", i, i)
	}
	b.WriteString("not json\n\n")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	// 300 bytes from the end start mid-line; that partial line is dropped.
	evs, err := readAuditTail(path, 3, 300)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, ev := range evs {
		got = append(got, ev.Event)
	}
	if want := []string{"e48", "e49", "?"}; !slices.Equal(got, want) {
		t.Errorf("events = %v, want %v", got, want)
	}
	if evs[2].Details["line"] != "not json" {
		t.Errorf("unparsed line kept as %v", evs[2].Details)
	}
	if evs, _ := readAuditTail(path, 100, 300); evs[0].Event == "?" || len(evs) > 8 {
		t.Errorf("bounded read: %d events, first %q", len(evs), evs[0].Event)
	}
}

func TestTailBuffer(t *testing.T) {
	b := newTailBuffer(16)
	if b.Lines() != nil {
		t.Fatal("empty buffer has lines")
	}
	for i := range 10 {
		fmt.Fprintf(b, "line %d\n", i)
	}
	if got, want := b.Lines(), []string{"line 8", "line 9"}; !slices.Equal(got, want) {
		t.Errorf("Lines = %q, want %q", got, want)
	}
	big := newTailBuffer(8)
	fmt.Fprint(big, strings.Repeat("x", 100)+"\nabc\n")
	if got := big.Lines(); !slices.Equal(got, []string{"abc"}) {
		t.Errorf("after one large write: %q", got)
	}
}

// TestRunnerSource checks the adapter against a real state dir: the reads
// that need no backend, and that errors come back rather than panics.
func TestRunnerSource(t *testing.T) {
	home := state.Home{Path: t.TempDir()}
	dir, err := home.Create("demo-abcde")
	if err != nil {
		t.Fatal(err)
	}
	md := &state.Metadata{FormatVersion: state.MetadataVersion, Identity: "demo-abcde", Bottle: "demo", Agent: "demo", Backend: "docker", StartedAt: time.Now().UTC()}
	if err := dir.WriteMetadata(md); err != nil {
		t.Fatal(err)
	}
	if err := dir.MarkPreserved(); err != nil {
		t.Fatal(err)
	}
	for _, ev := range []string{"launch", "request", "approval"} {
		if err := dir.Audit(ev, map[string]string{"k": "v"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(home.StateRoot(), "not an identity"), 0o700); err != nil {
		t.Fatal(err)
	}
	src := NewSource(&runner.Runner{Home: home})
	rows, reqs, err := src.Refresh(t.Context(), nil, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[0].State != runner.StatusPreserved || rows[1].State != runner.StatusError || len(reqs) != 0 {
		t.Errorf("Refresh = %+v, %+v", rows, reqs)
	}
	evs, err := src.AuditTail(t.Context(), "demo-abcde", 2)
	if err != nil || len(evs) != 2 || evs[0].Event != "request" || evs[1].Event != "approval" {
		t.Errorf("AuditTail = %+v, %v", evs, err)
	}
	if _, err := src.AuditTail(t.Context(), "gone-abcde", 2); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("AuditTail of a missing identity: %v", err)
	}
	if err := src.Logs(t.Context(), "demo-abcde", &strings.Builder{}); err == nil {
		t.Error("Logs with no backend configured did not fail")
	}
}

func TestRequireTerminal(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	if err := RequireTerminal(r, w); !errors.Is(err, ErrNoTerminal) {
		t.Errorf("pipes: %v", err)
	}
	if !strings.Contains(ErrNoTerminal.Error(), "bottle requests") {
		t.Error("the error does not point at bottle requests")
	}
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pty: %v", err)
	}
	defer ptmx.Close()
	defer tty.Close()
	if err := RequireTerminal(tty, tty); err != nil {
		t.Errorf("a pty: %v", err)
	}
	if err := RequireTerminal(tty, w); !errors.Is(err, ErrNoTerminal) {
		t.Errorf("stdout a pipe: %v", err)
	}
}
