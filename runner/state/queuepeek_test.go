package state

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// quiet runs PendingIfQuiet and returns the ids it found, and whether the
// queue was quiet.
func quiet(t *testing.T, d *Dir) ([]string, bool) {
	t.Helper()
	p, ok, err := d.PendingIfQuiet()
	if err != nil {
		t.Fatalf("PendingIfQuiet: %v", err)
	}
	var ids []string
	for _, f := range p {
		ids = append(ids, f.Request.ID)
	}
	return ids, ok
}

// TestPendingIfQuiet: only a queue with no request file and no answered
// record to prune is quiet, and then the answer is Intake's, without the
// queue being written.
func TestPendingIfQuiet(t *testing.T) {
	_, d := newDir(t)
	if ids, ok := quiet(t, d); !ok || len(ids) != 0 {
		t.Fatalf("empty queue: %q, quiet %v; want nothing, quiet", ids, ok)
	}
	// Temp files, answers and other names are not requests.
	for _, name := range []string{".tmp-1.json", "old" + answerSuffix, "notes.txt", "json"} {
		writeQueueFile(t, d, name, "{}")
	}
	if ids, ok := quiet(t, d); !ok || len(ids) != 0 {
		t.Fatalf("queue without requests: %q, quiet %v; want nothing, quiet", ids, ok)
	}

	// A request file, new or frozen already, is Intake's to read.
	putRequest(t, d, "req-1")
	if _, ok := quiet(t, d); ok {
		t.Fatal("a new request file counted as quiet: it would be listed unfrozen or not at all")
	}
	scan(t, d)
	if _, ok := quiet(t, d); ok {
		t.Fatal("a frozen request's file counted as quiet: a change to it would never be rechecked")
	}
	// Its file gone, the frozen copy stands, as Intake says.
	if err := os.Remove(filepath.Join(d.QueuePath(), "req-1.json")); err != nil {
		t.Fatal(err)
	}
	before := dirNames(t, d.QueuePath())
	ids, ok := quiet(t, d)
	if want, _ := scan(t, d); !ok || !slices.Equal(ids, pendingIDs(want)) || len(ids) != 1 {
		t.Fatalf("frozen request without its file: %q, quiet %v; Intake says %q", ids, ok, pendingIDs(want))
	}
	if after := dirNames(t, d.QueuePath()); !slices.Equal(before, after) {
		t.Errorf("PendingIfQuiet changed the queue: %q, then %q", before, after)
	}

	// An answered record whose file is gone is left for Intake to prune.
	f, err := d.PendingRequest("req-1")
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Answer(f, AnswerDenied, "no"); err != nil {
		t.Fatal(err)
	}
	if _, ok := quiet(t, d); ok {
		t.Fatal("an answered record to prune counted as quiet")
	}
	scan(t, d)
	if ids, ok := quiet(t, d); !ok || len(ids) != 0 {
		t.Fatalf("after Intake pruned: %q, quiet %v", ids, ok)
	}

	// A directory named like a request is one to Intake (it rejects it).
	if err := os.Mkdir(filepath.Join(d.QueuePath(), "sub.json"), 0o700); err != nil {
		t.Fatal(err)
	}
	if _, ok := quiet(t, d); ok {
		t.Fatal("a directory named <id>.json counted as quiet")
	}
}

// TestPendingIfQuietFlood: a queue with more names than Intake lists is
// never quiet, whatever the names, so that Intake's bounds decide.
func TestPendingIfQuietFlood(t *testing.T) {
	_, d := newDir(t)
	for i := range maxQueueEntries {
		writeQueueFile(t, d, fmt.Sprintf("junk-%05d", i), "")
	}
	if _, ok := quiet(t, d); ok {
		t.Fatal("a flooded queue counted as quiet")
	}
}

// TestPendingIfQuietLink: a queue that is a symbolic link is not followed.
func TestPendingIfQuietLink(t *testing.T) {
	_, d := newDir(t)
	elsewhere := t.TempDir()
	if err := os.WriteFile(filepath.Join(elsewhere, "req-1.json"), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(d.QueuePath()); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(elsewhere, d.QueuePath()); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := d.PendingIfQuiet(); err == nil || ok {
		t.Fatalf("a linked queue: quiet %v, err %v; want an error", ok, err)
	}
}

func writeQueueFile(t *testing.T, d *Dir, name, body string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(d.QueuePath(), name), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}
