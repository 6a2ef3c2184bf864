package state

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// putRequest writes a valid request named id into the queue.
func putRequest(t *testing.T, d *Dir, id string) {
	t.Helper()
	data := requestJSON(t, map[string]any{"id": id})
	if err := os.WriteFile(filepath.Join(d.QueuePath(), id+".json"), data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// readAnswer decodes <id>.answer.json, which must be a regular file.
func readAnswer(t *testing.T, d *Dir, id string) Answer {
	t.Helper()
	p := filepath.Join(d.QueuePath(), id+answerSuffix)
	fi, err := os.Lstat(p)
	if err != nil {
		t.Fatalf("answer of %s: %v", id, err)
	}
	if !fi.Mode().IsRegular() {
		t.Fatalf("answer of %s has mode %v, want a regular file", id, fi.Mode())
	}
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var a Answer
	if err := json.Unmarshal(data, &a); err != nil {
		t.Fatalf("answer of %s is not JSON: %v", id, err)
	}
	return a
}

func pendingIDs(reqs []*Request) []string {
	var ids []string
	for _, r := range reqs {
		ids = append(ids, r.ID)
	}
	return ids
}

// scan runs Intake with a deadline: a hostile queue must never stall it.
func scan(t *testing.T, d *Dir) ([]*Request, []Rejection) {
	t.Helper()
	type result struct {
		pending  []*Request
		rejected []Rejection
		err      error
	}
	done := make(chan result, 1)
	go func() {
		p, r, err := d.Intake()
		var reqs []*Request
		for _, f := range p {
			reqs = append(reqs, f.Request)
		}
		done <- result{reqs, r, err}
	}()
	select {
	case r := <-done:
		if r.err != nil {
			t.Fatalf("Intake: %v", r.err)
		}
		return r.pending, r.rejected
	case <-time.After(waitFor):
		t.Fatal("Intake is stuck")
		return nil, nil
	}
}

func TestIntakePending(t *testing.T) {
	_, d := newDir(t)
	if p, r := scan(t, d); len(p) != 0 || len(r) != 0 {
		t.Fatalf("empty queue: pending %v, rejected %v", p, r)
	}
	putRequest(t, d, "b-second")
	putRequest(t, d, "a-first")
	putRequest(t, d, "c-answered")
	// Oldest first, whatever the names.
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(filepath.Join(d.QueuePath(), "a-first.json"), old, old.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(filepath.Join(d.QueuePath(), "b-second.json"), old, old); err != nil {
		t.Fatal(err)
	}
	if err := d.WriteAnswer(Answer{ID: "c-answered", Status: AnswerDenied, Reason: "no"}); err != nil {
		t.Fatal(err)
	}
	pending, rejected := scan(t, d)
	if got, want := pendingIDs(pending), []string{"b-second", "a-first"}; !slices.Equal(got, want) {
		t.Errorf("pending = %q, want %q", got, want)
	}
	if len(rejected) != 0 {
		t.Errorf("rejected = %v", rejected)
	}
	if pending[0].Reason != "need ffmpeg" || !slices.Equal(pending[0].Dockerfile, []string{"RUN apt-get install -y ffmpeg"}) {
		t.Errorf("pending[0] = %+v", pending[0])
	}

	r, err := d.PendingRequest("a-first")
	if err != nil || r.Request.ID != "a-first" {
		t.Errorf("Request(a-first) = %v, %v", r, err)
	}
	for _, id := range []string{"c-answered", "missing", "../x"} {
		_, err := d.PendingRequest(id)
		if !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Request(%q) = %v, want fs.ErrNotExist", id, err)
		}
		if err != nil && !strings.Contains(err.Error(), "bottle requests") {
			t.Errorf("Request(%q) error %q does not point at bottle requests", id, err)
		}
	}
}

func TestIntakeMissing(t *testing.T) {
	h := newHome(t)
	d, _ := h.Dir(testIdentity)
	if _, _, err := d.Intake(); err == nil {
		t.Error("Intake of a missing queue succeeded")
	}
	if _, err := d.PendingRequest("x"); err == nil {
		t.Error("Request on a missing queue succeeded")
	}
	if err := d.WriteAnswer(Answer{ID: "x", Status: AnswerDenied}); err == nil {
		t.Error("WriteAnswer into a missing queue succeeded")
	}
}

func TestIntakeHostile(t *testing.T) {
	_, d := newDir(t)
	q := d.QueuePath()
	outsideDir := t.TempDir()
	write := func(name string, data []byte) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(q, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	putRequest(t, d, "good")
	// Oversized.
	write("big.json", []byte(strings.Repeat(" ", MaxRequestSize+1)))
	// A link out of the queue, to a file that holds a valid request: if it
	// were followed, "passwd" would be pending.
	outside := filepath.Join(outsideDir, "passwd")
	if err := os.WriteFile(outside, requestJSON(t, map[string]any{"id": "passwd"}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(q, "passwd.json")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/etc/passwd", filepath.Join(q, "x.json")); err != nil {
		t.Fatal(err)
	}
	// A link to a valid request inside the queue.
	if err := os.Symlink("good.json", filepath.Join(q, "inlink.json")); err != nil {
		t.Fatal(err)
	}
	// A FIFO with a writer that never writes: opening or reading it would
	// block forever.
	fifo := filepath.Join(q, "y.json")
	if err := syscall.Mkfifo(fifo, 0o666); err != nil {
		t.Fatal(err)
	}
	w, err := os.OpenFile(fifo, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if err := os.Mkdir(filepath.Join(q, "z.json"), 0o777); err != nil {
		t.Fatal(err)
	}
	write("broken.json", []byte(`{"id":`))
	write("mismatch.json", requestJSON(t, map[string]any{"id": "other"}))
	write("from.json", requestJSON(t, map[string]any{"id": "from", "dockerfile": []string{"FROM evil"}}))
	// Names that cannot be answered under: removed and audited.
	write("a b.json", requestJSON(t, nil))
	write("-dash.json", requestJSON(t, nil))
	write(strings.Repeat("l", 65)+".json", requestJSON(t, nil))
	// Ignored: temp files, dotfiles, other extensions, answers.
	write(".tmp-good2.json", requestJSON(t, map[string]any{"id": ".tmp-good2"}))
	write(".hidden", []byte("x"))
	write("good2.json.tmp", []byte("x"))
	write("notes.txt", []byte("x"))
	write("orphan"+answerSuffix, []byte("garbage"))

	pending, rejected := scan(t, d)
	if got := pendingIDs(pending); !slices.Equal(got, []string{"good"}) {
		t.Errorf("pending = %q, want only good", got)
	}
	reasons := map[string]string{}
	for _, r := range rejected {
		reasons[r.ID] = r.Reason
	}
	answered := map[string]string{ // id → substring of the reason
		"big":      "larger than",
		"passwd":   "not a regular file",
		"x":        "not a regular file",
		"inlink":   "not a regular file",
		"y":        "not a regular file",
		"z":        "not a regular file",
		"broken":   "not valid JSON",
		"mismatch": "does not match",
		"from":     "FROM",
	}
	removed := []string{"a b", "-dash", strings.Repeat("l", 65)}
	if len(rejected) != len(answered)+len(removed) {
		t.Errorf("rejected %d entries, want %d: %v", len(rejected), len(answered)+len(removed), rejected)
	}
	for id, want := range answered {
		if !strings.Contains(reasons[id], want) {
			t.Errorf("rejection of %s = %q, want %q", id, reasons[id], want)
		}
		a := readAnswer(t, d, id)
		if a.ID != id || a.Status != AnswerRejected || a.Reason != reasons[id] {
			t.Errorf("answer of %s = %+v", id, a)
		}
		if _, err := time.Parse(time.RFC3339, a.Time); err != nil {
			t.Errorf("answer of %s has time %q", id, a.Time)
		}
	}
	for _, id := range removed {
		if !strings.Contains(reasons[id], "file name") {
			t.Errorf("rejection of %q = %q", id, reasons[id])
		}
		if _, err := os.Lstat(filepath.Join(q, id+".json")); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%q.json was not removed (%v)", id, err)
		}
		if _, err := os.Lstat(filepath.Join(q, id+answerSuffix)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%q got an answer file", id)
		}
	}
	// The audit log has one line per rejection, requests by id and bad
	// names by (quoted) file name.
	audited := map[string]bool{}
	for _, ev := range readAudit(t, d) {
		if ev.Event != "request_rejected" || ev.Details["reason"] == "" {
			t.Errorf("audit event %+v", ev)
		}
		audited[ev.Details["request"]+ev.Details["file"]] = true
	}
	for id := range answered {
		if !audited[id] {
			t.Errorf("rejection of %s not audited", id)
		}
	}
	for _, id := range removed {
		if !audited[`"`+id+`.json"`] {
			t.Errorf("removal of %q not audited (%v)", id, audited)
		}
	}
	// Nothing outside the queue was touched, and the ignored files are
	// still there.
	if got, _ := os.ReadFile(outside); string(got) != string(requestJSON(t, map[string]any{"id": "passwd"})) {
		t.Errorf("outside file changed: %q", got)
	}
	for _, name := range []string{".tmp-good2.json", ".hidden", "good2.json.tmp", "notes.txt", "orphan" + answerSuffix} {
		if _, err := os.Lstat(filepath.Join(q, name)); err != nil {
			t.Errorf("ignored file %s: %v", name, err)
		}
	}

	// A second scan finds the same pending request and no new rejections:
	// everything rejected was answered or removed.
	nAudit := len(readAudit(t, d))
	pending, rejected = scan(t, d)
	if got := pendingIDs(pending); !slices.Equal(got, []string{"good"}) {
		t.Errorf("second scan: pending = %q", got)
	}
	if len(rejected) != 0 {
		t.Errorf("second scan rejected %v", rejected)
	}
	if n := len(readAudit(t, d)); n != nAudit {
		t.Errorf("second scan wrote %d audit lines", n-nAudit)
	}
}

func TestIntakeAgentAnswerHidesRequest(t *testing.T) {
	// The agent can write an answer next to its own request; the request is
	// then treated as answered. It can only hide its own request that way.
	_, d := newDir(t)
	putRequest(t, d, "mine")
	if err := os.Symlink("/etc/passwd", filepath.Join(d.QueuePath(), "mine"+answerSuffix)); err != nil {
		t.Fatal(err)
	}
	pending, rejected := scan(t, d)
	if len(pending) != 0 || len(rejected) != 0 {
		t.Errorf("pending %v, rejected %v; want the request treated as answered", pendingIDs(pending), rejected)
	}
}

// TestIntakeSwapRace swaps a request between a regular file and a FIFO
// (whose write end stays open) while the host scans. A scan that checks the
// type with Lstat and then opens the name reads whatever is there at open
// time; it must check the file it opened, or the read blocks forever.
func TestIntakeSwapRace(t *testing.T) {
	_, d := newDir(t)
	q := d.QueuePath()
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o666); err != nil {
		t.Fatal(err)
	}
	w, err := os.OpenFile(fifo, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	// Closing the writer also unblocks a scan stuck in a read, so that a
	// failing test does not hang.
	defer w.Close()
	fifoInQueue := filepath.Join(q, "fifo-link")
	if err := os.Link(fifo, fifoInQueue); err != nil {
		t.Skipf("cannot hard-link a FIFO here: %v", err)
	}
	reg := requestJSON(t, map[string]any{"id": "swap"})
	name := filepath.Join(q, "swap.json")
	stop := make(chan struct{})
	swapped := make(chan struct{})
	go func() {
		defer close(swapped)
		tmpReg, tmpFifo := filepath.Join(q, ".swap-reg"), filepath.Join(q, ".swap-fifo")
		for {
			select {
			case <-stop:
				return
			default:
			}
			_ = os.WriteFile(tmpReg, reg, 0o644)
			_ = os.Rename(tmpReg, name)
			_ = os.Remove(tmpFifo)
			_ = os.Link(fifoInQueue, tmpFifo)
			_ = os.Rename(tmpFifo, name)
			_ = os.Remove(filepath.Join(q, "swap"+answerSuffix))
		}
	}()
	defer func() {
		close(stop)
		<-swapped
	}()
	deadline := time.Now().Add(2 * time.Second)
	for n := 0; time.Now().Before(deadline); n++ {
		done := make(chan error, 1)
		go func() {
			_, _, err := d.Intake()
			done <- err
		}()
		select {
		case <-done:
			// Errors are fine here (the answer can race with the swapper);
			// only a stall is a failure.
		case <-time.After(waitFor):
			t.Fatalf("scan %d is stuck reading a FIFO swapped in after the type check", n)
		}
	}
}

func TestWriteAnswer(t *testing.T) {
	_, d := newDir(t)
	putRequest(t, d, "req-1")
	at := "2025-01-02T03:04:05Z"
	if err := d.WriteAnswer(Answer{ID: "req-1", Status: AnswerApproved, Reason: "ok", Time: at}); err != nil {
		t.Fatal(err)
	}
	if a := readAnswer(t, d, "req-1"); a != (Answer{ID: "req-1", Status: AnswerApproved, Reason: "ok", Time: at}) {
		t.Errorf("answer = %+v", a)
	}
	// Answering again replaces the answer; an empty time is filled in.
	before := time.Now().UTC().Truncate(time.Second)
	if err := d.WriteAnswer(Answer{ID: "req-1", Status: AnswerDenied}); err != nil {
		t.Fatal(err)
	}
	a := readAnswer(t, d, "req-1")
	if a.Status != AnswerDenied {
		t.Errorf("answer = %+v", a)
	}
	if tm, err := time.Parse(time.RFC3339, a.Time); err != nil || tm.Before(before) {
		t.Errorf("answer time %q (%v)", a.Time, err)
	}
	if got := dirNames(t, d.QueuePath()); !slices.Equal(got, []string{"req-1" + answerSuffix, "req-1.json"}) {
		t.Errorf("queue holds %q (temp files left?)", got)
	}
	// The agent (another user in the bottle) must be able to read it.
	if fi, _ := os.Stat(filepath.Join(d.QueuePath(), "req-1"+answerSuffix)); fi.Mode().Perm()&0o004 == 0 {
		t.Errorf("answer mode %v is not world-readable", fi.Mode().Perm())
	}
	if p, _ := scan(t, d); len(p) != 0 {
		t.Errorf("answered request still pending: %q", pendingIDs(p))
	}
}

func TestWriteAnswerInvalidID(t *testing.T) {
	h, d := newDir(t)
	for _, id := range []string{"", "../x", "a/b", "../../" + testIdentity + "/metadata", ".hidden", "a b", strings.Repeat("x", 65)} {
		if err := d.WriteAnswer(Answer{ID: id, Status: AnswerDenied}); err == nil {
			t.Errorf("WriteAnswer(%q) succeeded", id)
		}
	}
	if got := dirNames(t, d.QueuePath()); len(got) != 0 {
		t.Errorf("queue holds %q", got)
	}
	if got := dirNames(t, d.Path); !slices.Equal(got, []string{QueueDir}) {
		t.Errorf("state dir holds %q", got)
	}
	if got := dirNames(t, h.StateRoot()); !slices.Equal(got, []string{testIdentity}) {
		t.Errorf("state root holds %q", got)
	}
}

func TestWriteAnswerReplacesLink(t *testing.T) {
	tests := []struct {
		name   string
		exists bool
	}{
		{"link to an existing file outside", true},
		{"dangling link to a path outside", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, d := newDir(t)
			outside := filepath.Join(t.TempDir(), "target")
			if tt.exists {
				if err := os.WriteFile(outside, []byte("precious"), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			link := filepath.Join(d.QueuePath(), "req-1"+answerSuffix)
			if err := os.Symlink(outside, link); err != nil {
				t.Fatal(err)
			}
			if err := d.WriteAnswer(Answer{ID: "req-1", Status: AnswerDenied, Reason: "no"}); err != nil {
				t.Fatal(err)
			}
			if a := readAnswer(t, d, "req-1"); a.Status != AnswerDenied {
				t.Errorf("answer = %+v", a)
			}
			got, err := os.ReadFile(outside)
			switch {
			case tt.exists && string(got) != "precious":
				t.Errorf("outside file = %q, was written through the link", got)
			case !tt.exists && !errors.Is(err, fs.ErrNotExist):
				t.Errorf("outside path was created through the link (%v)", err)
			}
		})
	}
}

func TestWriteAnswerOverDirectory(t *testing.T) {
	// A directory at the answer's name cannot be replaced: an error, not a
	// write somewhere else.
	_, d := newDir(t)
	if err := os.MkdirAll(filepath.Join(d.QueuePath(), "req-1"+answerSuffix, "x"), 0o777); err != nil {
		t.Fatal(err)
	}
	if err := d.WriteAnswer(Answer{ID: "req-1", Status: AnswerDenied}); err == nil {
		t.Error("WriteAnswer over a directory succeeded")
	}
	if got := dirNames(t, d.QueuePath()); !slices.Equal(got, []string{"req-1" + answerSuffix}) {
		t.Errorf("queue holds %q (temp file left?)", got)
	}
}

func TestIntakeUnremovableBadName(t *testing.T) {
	// A bad name that cannot be removed (a non-empty directory here; in
	// real life also anything owned by the bottle's root) must not be
	// rejected and audited again on every scan: that would let an agent
	// grow the audit log without bound.
	_, d := newDir(t)
	if err := os.MkdirAll(filepath.Join(d.QueuePath(), "a b.json", "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	putRequest(t, d, "good")
	for i := range 3 {
		pending, rejected := scan(t, d)
		if got := pendingIDs(pending); !slices.Equal(got, []string{"good"}) {
			t.Errorf("scan %d: pending = %q", i, got)
		}
		want := 0
		if i == 0 {
			want = 1
		}
		if len(rejected) != want {
			t.Errorf("scan %d: rejected %v", i, rejected)
		}
	}
	if n := len(readAudit(t, d)); n != 1 {
		t.Errorf("%d audit lines after 3 scans, want 1", n)
	}
	for _, name := range dirNames(t, d.QueuePath()) {
		if !strings.HasPrefix(name, ".") && name != "good.json" {
			t.Errorf("queue still holds %q where a scan looks", name)
		}
	}
}
