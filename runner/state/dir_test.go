package state

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestJoin(t *testing.T) {
	d := &Dir{Identity: testIdentity, Path: "/h/state/" + testIdentity}
	if got, want := d.Join("a", "b"), "/h/state/"+testIdentity+"/a/b"; got != want {
		t.Errorf("Join = %q, want %q", got, want)
	}
	if got := d.Join(); got != d.Path {
		t.Errorf("Join() = %q, want %q", got, d.Path)
	}
	for _, tt := range []struct{ got, name string }{
		{d.PreservePath(), PreserveFile},
		{d.DockerfilePath(), DockerfileFile},
		{d.MetadataPath(), MetadataFile},
		{d.QueuePath(), QueueDir},
	} {
		if want := filepath.Join(d.Path, tt.name); tt.got != want {
			t.Errorf("path = %q, want %q", tt.got, want)
		}
	}
}

func TestPreserveMarker(t *testing.T) {
	_, d := newDir(t)
	if d.IsPreserved() {
		t.Fatal("a fresh dir is preserved")
	}
	if err := d.ClearPreserved(); err != nil {
		t.Fatalf("ClearPreserved without a marker: %v", err)
	}
	before := time.Now().UTC().Truncate(time.Second)
	if err := d.MarkPreserved(); err != nil {
		t.Fatal(err)
	}
	if !d.IsPreserved() {
		t.Fatal("not preserved after MarkPreserved")
	}
	data, err := os.ReadFile(d.PreservePath())
	if err != nil {
		t.Fatal(err)
	}
	at, err := time.Parse(time.RFC3339, strings.TrimSpace(string(data)))
	if err != nil {
		t.Errorf("marker content %q is not a time: %v", data, err)
	} else if at.Before(before) {
		t.Errorf("marker time %v is before the call (%v)", at, before)
	}
	// Marking twice is fine and leaves no temp files.
	if err := d.MarkPreserved(); err != nil {
		t.Fatal(err)
	}
	if err := d.ClearPreserved(); err != nil {
		t.Fatal(err)
	}
	if d.IsPreserved() {
		t.Error("still preserved after ClearPreserved")
	}
	if err := d.ClearPreserved(); err != nil {
		t.Errorf("second ClearPreserved: %v", err)
	}
	if names := dirNames(t, d.Path); !slices.Equal(names, []string{QueueDir}) {
		t.Errorf("state dir holds %q, want only the queue", names)
	}
}

func TestClearPreservedFails(t *testing.T) {
	_, d := newDir(t)
	// A non-empty directory at the marker path cannot be removed: the error
	// must be reported, not swallowed.
	if err := os.MkdirAll(filepath.Join(d.PreservePath(), "x"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := d.ClearPreserved(); err == nil {
		t.Error("ClearPreserved of a non-empty directory succeeded")
	}
}

func TestDockerfile(t *testing.T) {
	_, d := newDir(t)
	if d.HasDockerfile() {
		t.Fatal("a fresh dir has a Dockerfile")
	}
	content := []byte("FROM node:22\nRUN apt-get install -y ffmpeg\n")
	if err := d.WriteDockerfile(content); err != nil {
		t.Fatal(err)
	}
	if !d.HasDockerfile() {
		t.Fatal("no Dockerfile after WriteDockerfile")
	}
	got, err := os.ReadFile(d.DockerfilePath())
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(content) {
		t.Errorf("Dockerfile = %q, want %q", got, content)
	}
	if fi, _ := os.Stat(d.DockerfilePath()); fi.Mode().Perm() != 0o600 {
		t.Errorf("Dockerfile mode %v, want 0600", fi.Mode().Perm())
	}
}

func TestHasDockerfileNotRegular(t *testing.T) {
	for _, tt := range []struct {
		name string
		make func(t *testing.T, d *Dir)
	}{
		{"symlink to a regular file", func(t *testing.T, d *Dir) {
			target := filepath.Join(t.TempDir(), "Dockerfile")
			if err := os.WriteFile(target, []byte("FROM x\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(target, d.DockerfilePath()); err != nil {
				t.Fatal(err)
			}
		}},
		{"dangling symlink", func(t *testing.T, d *Dir) {
			if err := os.Symlink("/nonexistent/Dockerfile", d.DockerfilePath()); err != nil {
				t.Fatal(err)
			}
		}},
		{"directory", func(t *testing.T, d *Dir) {
			if err := os.Mkdir(d.DockerfilePath(), 0o700); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, d := newDir(t)
			tt.make(t, d)
			if d.HasDockerfile() {
				t.Error("HasDockerfile = true")
			}
		})
	}
}

func TestRemoveAndExists(t *testing.T) {
	_, d := newDir(t)
	if err := os.WriteFile(d.Join(QueueDir, "r.json"), []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	if !d.Exists() {
		t.Fatal("Exists = false after Create")
	}
	if err := d.Remove(); err != nil {
		t.Fatal(err)
	}
	if d.Exists() {
		t.Error("Exists = true after Remove")
	}
	if err := d.Remove(); err != nil {
		t.Errorf("second Remove: %v", err)
	}
}

func TestExistsNotADirectory(t *testing.T) {
	h := newHome(t)
	d, _ := h.Dir(testIdentity)
	if err := os.MkdirAll(h.StateRoot(), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(t.TempDir(), d.Path); err != nil {
		t.Fatal(err)
	}
	if d.Exists() {
		t.Error("Exists = true for a symlink to a directory")
	}
}

func TestAudit(t *testing.T) {
	_, d := newDir(t)
	start := time.Now().Add(-time.Second)
	if err := d.Audit("launch", map[string]string{"backend": "docker"}); err != nil {
		t.Fatal(err)
	}
	if err := d.Audit("stop", nil); err != nil {
		t.Fatal(err)
	}
	// Details that need escaping stay on one line.
	if err := d.Audit("request_rejected", map[string]string{"reason": "line1\nline2\r\x00\"}"}); err != nil {
		t.Fatal(err)
	}
	events := readAudit(t, d)
	if len(events) != 3 {
		t.Fatalf("got %d events, want 3", len(events))
	}
	for i, want := range []string{"launch", "stop", "request_rejected"} {
		if events[i].Event != want {
			t.Errorf("event %d = %q, want %q", i, events[i].Event, want)
		}
		if events[i].Time.Before(start) || events[i].Time.Location() != time.UTC {
			t.Errorf("event %d time = %v", i, events[i].Time)
		}
	}
	if events[0].Details["backend"] != "docker" {
		t.Errorf("details = %v", events[0].Details)
	}
	if events[1].Details != nil {
		t.Errorf("nil details decoded as %v", events[1].Details)
	}
	if got := events[2].Details["reason"]; got != "line1\nline2\r\x00\"}" {
		t.Errorf("reason = %q", got)
	}
	if fi, _ := os.Stat(d.Join(AuditFile)); fi.Mode().Perm() != 0o600 {
		t.Errorf("audit log mode %v, want 0600", fi.Mode().Perm())
	}
}

func TestAuditConcurrent(t *testing.T) {
	_, d := newDir(t)
	const n = 20
	// Lines of a few KiB make an interleaving visible if writes were split.
	pad := strings.Repeat("x", 3000)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			errs <- d.Audit(fmt.Sprintf("event-%02d", i), map[string]string{"pad": pad})
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	events := readAudit(t, d)
	if len(events) != n {
		t.Fatalf("got %d lines, want %d", len(events), n)
	}
	seen := map[string]bool{}
	for _, ev := range events {
		if ev.Details["pad"] != pad {
			t.Errorf("event %s has a damaged detail", ev.Event)
		}
		seen[ev.Event] = true
	}
	if len(seen) != n {
		t.Errorf("got %d distinct events, want %d", len(seen), n)
	}
}

func TestAuditMissingDir(t *testing.T) {
	h := newHome(t)
	d, _ := h.Dir(testIdentity)
	if err := d.Audit("launch", nil); err == nil {
		t.Error("Audit into a missing state dir succeeded")
	}
}

func TestDockerfileHashAndRead(t *testing.T) {
	_, d := newDir(t)
	if h := d.DockerfileHash(); h != "" {
		t.Errorf("DockerfileHash without a Dockerfile = %q", h)
	}
	if s, err := d.ReadDockerfile(); s != "" || err != nil {
		t.Errorf("ReadDockerfile without a Dockerfile = %q, %v", s, err)
	}
	content := "FROM node:22\nRUN apt-get install -y ffmpeg\n"
	if err := d.WriteDockerfile([]byte(content)); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(content))
	if h := d.DockerfileHash(); h != hex.EncodeToString(sum[:]) {
		t.Errorf("DockerfileHash = %q, want sha256 %x", h, sum)
	}
	if s, err := d.ReadDockerfile(); s != content || err != nil {
		t.Errorf("ReadDockerfile = %q, %v", s, err)
	}

	// A link is not a Dockerfile: neither hashed nor read through.
	_, d2 := newDir(t)
	target := filepath.Join(t.TempDir(), "Dockerfile")
	if err := os.WriteFile(target, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, d2.DockerfilePath()); err != nil {
		t.Fatal(err)
	}
	if h := d2.DockerfileHash(); h != "" {
		t.Errorf("DockerfileHash of a link = %q", h)
	}
	if s, err := d2.ReadDockerfile(); s != "" || err != nil {
		t.Errorf("ReadDockerfile of a link = %q, %v", s, err)
	}
}

func TestResumeReady(t *testing.T) {
	const v1, v2 = "FROM x\nRUN a\n", "FROM x\nRUN a\nRUN b\n"
	hash := func(s string) string {
		sum := sha256.Sum256([]byte(s))
		return hex.EncodeToString(sum[:])
	}
	tests := []struct {
		name       string
		preserved  bool
		dockerfile string // "" = none
		launched   string // DockerfileHash in the metadata
		intent     bool
		want       bool
	}{
		{"normal end", false, "", "", false, false},
		{"approval half done: marker, no Dockerfile yet", true, "", "", false, false},
		{"Dockerfile without the marker", false, v1, "", false, false},
		{"first approval done", true, v1, "", false, true},
		{"already launched from this Dockerfile", true, v1, hash(v1), false, false},
		{"second approval done", true, v2, hash(v1), false, true},
		{"approval written but its intent not cleared", true, v2, hash(v1), true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, d := newDir(t)
			if tt.preserved {
				if err := d.MarkPreserved(); err != nil {
					t.Fatal(err)
				}
			}
			if tt.dockerfile != "" {
				if err := d.WriteDockerfile([]byte(tt.dockerfile)); err != nil {
					t.Fatal(err)
				}
			}
			if tt.intent {
				if err := d.WriteIntent(&Intent{Request: &Request{ID: "r"}, Step: StepSnapshotted}); err != nil {
					t.Fatal(err)
				}
			}
			if got := d.ResumeReady(&Metadata{DockerfileHash: tt.launched}); got != tt.want {
				t.Errorf("ResumeReady = %v, want %v", got, tt.want)
			}
		})
	}
}
