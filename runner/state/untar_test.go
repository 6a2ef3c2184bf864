package state

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// snapshotSetup is a state dir inside a Home inside base, with an outside
// directory next to the home that no extraction may touch.
type snapshotSetup struct {
	base, outside string
	home          Home
	d             *Dir
}

func newSnapshotSetup(t *testing.T) snapshotSetup {
	t.Helper()
	base := t.TempDir()
	h := Home{Path: filepath.Join(base, "home")}
	d, err := h.Create(testIdentity)
	if err != nil {
		t.Fatal(err)
	}
	outside := filepath.Join(base, "outside")
	if err := os.Mkdir(outside, 0o755); err != nil {
		t.Fatal(err)
	}
	return snapshotSetup{base: base, outside: outside, home: h, d: d}
}

// checkContained fails the test if anything appeared outside the snapshot:
// every level from the state dir up to the temp base holds only what it
// held before, the outside dir is empty with its mode unchanged, and no
// temp folder is left. snapshots are the snapshot folders that may exist.
func (s snapshotSetup) checkContained(t *testing.T, snapshots ...string) {
	t.Helper()
	want := append([]string{QueueDir}, snapshots...)
	slices.Sort(want)
	for _, c := range []struct {
		dir  string
		want []string
	}{
		{s.base, []string{"home", "outside"}},
		{s.home.Path, []string{"state"}},
		{s.home.StateRoot(), []string{testIdentity}},
		{s.d.Path, want},
		{s.d.QueuePath(), nil},
		{s.outside, nil},
	} {
		if got := dirNames(t, c.dir); !slices.Equal(got, c.want) {
			t.Errorf("%s holds %q, want %q", c.dir, got, c.want)
		}
	}
	if fi, err := os.Stat(s.outside); err != nil || fi.Mode().Perm() != 0o755 {
		t.Errorf("outside dir changed: %v, %v", fi.Mode(), err)
	}
}

func (s snapshotSetup) extract(t *testing.T, data []byte, lim Limits) error {
	t.Helper()
	return s.d.ExtractSnapshot(t.Context(), TranscriptDir, bytes.NewReader(data), lim)
}

func TestExtractSnapshotRoundTrip(t *testing.T) {
	s := newSnapshotSetup(t)
	mask := umask(t)
	mtime := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	entries := []tarEntry{
		dirEntry("./", 0o777), // the root itself: skipped
		dirEntry("projects/", 0o750),
		{name: "projects/a.jsonl", typ: tar.TypeReg, mode: 0o640, body: "{\"a\":1}\n", mtime: mtime},
		fileEntry("bin/tool", "#!/bin/sh\n", 0o755),
		fileEntry("deep/er/still/file.txt", "deep", 0o600), // parents created
		fileEntry("empty", "", 0o644),
		fileEntry("noperm", "x", 0o000),
		dirEntry("closed/", 0o000),
		linkEntry("rel-link", "projects/a.jsonl"),
		linkEntry("abs-link", "/home/agent/.claude/settings.json"),
		linkEntry("dangling", "does/not/exist"),
		linkEntry("projects/up", "../bin/tool"),
	}
	if err := s.extract(t, makeTar(t, entries...), DefaultLimits); err != nil {
		t.Fatal(err)
	}
	s.checkContained(t, TranscriptDir)
	if !s.d.HasSnapshot(TranscriptDir) || s.d.HasSnapshot(WorkspaceDir) {
		t.Error("HasSnapshot is wrong")
	}
	root := s.d.Join(TranscriptDir)
	if fi, err := os.Stat(root); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("snapshot root: %v, %v; want mode 0700 whatever the stream says", fi.Mode(), err)
	}
	for _, e := range entries[1:] {
		p := filepath.Join(root, e.name)
		fi, err := os.Lstat(p)
		if err != nil {
			t.Errorf("%s: %v", e.name, err)
			continue
		}
		switch e.typ {
		case tar.TypeDir:
			// Directories are chmodded: exact bits, plus owner rwx.
			if want := fs.FileMode(e.mode) | 0o700; !fi.IsDir() || fi.Mode().Perm() != want {
				t.Errorf("%s: mode %v, want dir %v", e.name, fi.Mode(), want)
			}
		case tar.TypeReg:
			// Files are created with owner rw added, under the umask.
			want := (fs.FileMode(e.mode) | 0o600) &^ mask
			if !fi.Mode().IsRegular() || fi.Mode().Perm() != want {
				t.Errorf("%s: mode %v, want file %v", e.name, fi.Mode(), want)
			}
			got, _ := os.ReadFile(p)
			if string(got) != e.body {
				t.Errorf("%s: content %q, want %q", e.name, got, e.body)
			}
			wantTime := e.mtime
			if wantTime.IsZero() {
				wantTime = time.Unix(1_700_000_000, 0)
			}
			if !fi.ModTime().Equal(wantTime) {
				t.Errorf("%s: mtime %v, want %v", e.name, fi.ModTime(), wantTime)
			}
		case tar.TypeSymlink:
			target, err := os.Readlink(p)
			if err != nil || target != e.linkname {
				t.Errorf("%s: link to %q (%v), want %q", e.name, target, err, e.linkname)
			}
		}
	}
}

func TestExtractSnapshotReplaces(t *testing.T) {
	s := newSnapshotSetup(t)
	for _, name := range []string{TranscriptDir, WorkspaceDir} {
		first := makeTar(t, fileEntry("old.txt", "old", 0o644), fileEntry("same.txt", "v1", 0o644))
		if err := s.d.ExtractSnapshot(t.Context(), name, bytes.NewReader(first), DefaultLimits); err != nil {
			t.Fatal(err)
		}
		second := makeTar(t, fileEntry("new.txt", "new", 0o644), fileEntry("same.txt", "v2", 0o644))
		if err := s.d.ExtractSnapshot(t.Context(), name, bytes.NewReader(second), DefaultLimits); err != nil {
			t.Fatal(err)
		}
		if got := dirNames(t, s.d.Join(name)); !slices.Equal(got, []string{"new.txt", "same.txt"}) {
			t.Errorf("%s holds %q after a second snapshot", name, got)
		}
		if got, _ := os.ReadFile(s.d.Join(name, "same.txt")); string(got) != "v2" {
			t.Errorf("same.txt = %q", got)
		}
	}
	s.checkContained(t, TranscriptDir, WorkspaceDir)
}

func TestExtractSnapshotEmptyStream(t *testing.T) {
	s := newSnapshotSetup(t)
	if err := s.extract(t, nil, DefaultLimits); err != nil {
		t.Fatalf("empty stream: %v", err)
	}
	if got := dirNames(t, s.d.Join(TranscriptDir)); len(got) != 0 {
		t.Errorf("snapshot of an empty stream holds %q", got)
	}
}

func TestExtractSnapshotUnknownName(t *testing.T) {
	s := newSnapshotSetup(t)
	data := makeTar(t, fileEntry("x", "x", 0o644))
	for _, name := range []string{"", ".", "..", "../x", QueueDir, MetadataFile, "/tmp/x", "transcript/sub"} {
		if err := s.d.ExtractSnapshot(t.Context(), name, bytes.NewReader(data), DefaultLimits); err == nil {
			t.Errorf("ExtractSnapshot(%q) succeeded", name)
		}
	}
	s.checkContained(t)
}

func TestExtractSnapshotEscapingNames(t *testing.T) {
	s := newSnapshotSetup(t)
	names := []string{
		"../x", "../../x", "../../../x", "../../../../x", "../../../../../x",
		"a/../../x", "./../x", "..", "../outside/x", "..\\..\\x", "a/../../../outside/x",
	}
	var entries []tarEntry
	for _, n := range names {
		entries = append(entries, fileEntry(n, "escaped", 0o644))
		entries = append(entries, dirEntry(n+"-dir/", 0o755))
		entries = append(entries, linkEntry(n+"-link", "/"))
	}
	entries = append(entries, dirEntry("../", 0o777), dirEntry("../../", 0o777))
	// Absolute names land inside.
	entries = append(entries, fileEntry("/abs/x", "inside", 0o644), fileEntry("//etc/y", "inside", 0o644))
	if err := s.extract(t, makeTar(t, entries...), DefaultLimits); err != nil {
		t.Fatalf("extract: %v", err)
	}
	s.checkContained(t, TranscriptDir)
	for _, p := range []string{"abs/x", "etc/y"} {
		if got, err := os.ReadFile(s.d.Join(TranscriptDir, p)); string(got) != "inside" {
			t.Errorf("%s: %q, %v", p, got, err)
		}
	}
}

func TestExtractSnapshotLinkTricks(t *testing.T) {
	tests := []struct {
		name    string
		entries func(outside string) []tarEntry
	}{
		{"file through an absolute dir link", func(o string) []tarEntry {
			return []tarEntry{linkEntry("evil", o), fileEntry("evil/x", "pwned", 0o644)}
		}},
		{"file through a relative dir link", func(o string) []tarEntry {
			return []tarEntry{linkEntry("evil", "../../../../outside"), fileEntry("evil/x", "pwned", 0o644)}
		}},
		{"file deep through a dir link", func(o string) []tarEntry {
			return []tarEntry{linkEntry("evil", o), fileEntry("evil/a/b/x", "pwned", 0o644)}
		}},
		{"file through a chain of links", func(o string) []tarEntry {
			return []tarEntry{linkEntry("a", "b"), linkEntry("b", o), fileEntry("a/x", "pwned", 0o644)}
		}},
		{"file through a link inside a dir", func(o string) []tarEntry {
			return []tarEntry{dirEntry("d/", 0o755), linkEntry("d/evil", "../../../../../outside"), fileEntry("d/evil/x", "pwned", 0o644)}
		}},
		{"dir through a dir link", func(o string) []tarEntry {
			return []tarEntry{linkEntry("evil", o), dirEntry("evil/sub/", 0o777)}
		}},
		{"chmod through a dir link", func(o string) []tarEntry {
			return []tarEntry{linkEntry("evil", o), dirEntry("evil/", 0o777)}
		}},
		{"link through a dir link", func(o string) []tarEntry {
			return []tarEntry{linkEntry("evil", o), linkEntry("evil/y", "/")}
		}},
		{"file replacing a link to an outside file", func(o string) []tarEntry {
			return []tarEntry{linkEntry("evil", filepath.Join(o, "f")), fileEntry("evil", "pwned", 0o644)}
		}},
		{"hard link through a dir link", func(o string) []tarEntry {
			return []tarEntry{linkEntry("evil", o), {name: "evil/h", typ: tar.TypeLink, linkname: "/etc/passwd"}}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSnapshotSetup(t)
			// An outside file that a followed link would overwrite.
			target := filepath.Join(s.outside, "f")
			if err := os.WriteFile(target, []byte("precious"), 0o644); err != nil {
				t.Fatal(err)
			}
			err := s.extract(t, makeTar(t, tt.entries(s.outside)...), DefaultLimits)
			if got, _ := os.ReadFile(target); string(got) != "precious" {
				t.Errorf("outside file = %q", got)
			}
			if err := os.Remove(target); err != nil {
				t.Fatal(err)
			}
			if err != nil {
				s.checkContained(t)
			} else {
				s.checkContained(t, TranscriptDir)
			}
		})
	}
}

func TestExtractSnapshotSkipsSpecialFiles(t *testing.T) {
	s := newSnapshotSetup(t)
	data := makeTar(t,
		fileEntry("real", "r", 0o644),
		tarEntry{name: "hard-out", typ: tar.TypeLink, linkname: "/etc/passwd"},
		tarEntry{name: "hard-in", typ: tar.TypeLink, linkname: "real"},
		tarEntry{name: "null", typ: tar.TypeChar, mode: 0o666},
		tarEntry{name: "disk", typ: tar.TypeBlock, mode: 0o666},
		tarEntry{name: "fifo", typ: tar.TypeFifo, mode: 0o666},
		fileEntry("setuid", "s", 0o4755),
		fileEntry("setgid", "s", 0o2755),
		dirEntry("sticky/", 0o1777),
	)
	if err := s.extract(t, data, DefaultLimits); err != nil {
		t.Fatal(err)
	}
	// hard-in is a hard link to a file of the stream: kept (see
	// TestExtractSnapshotHardLinks); hard-out is not.
	if got := dirNames(t, s.d.Join(TranscriptDir)); !slices.Equal(got, []string{"hard-in", "real", "setgid", "setuid", "sticky"}) {
		t.Errorf("snapshot holds %q", got)
	}
	for _, n := range []string{"setuid", "setgid", "sticky"} {
		fi, err := os.Lstat(s.d.Join(TranscriptDir, n))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode()&(fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky) != 0 {
			t.Errorf("%s kept special bits: %v", n, fi.Mode())
		}
	}
}

func TestExtractSnapshotLimits(t *testing.T) {
	files := makeTar(t, fileEntry("a", "12345", 0o644), fileEntry("b", "67890", 0o644))
	entries := makeTar(t, dirEntry("d/", 0o755), fileEntry("d/a", "", 0o644), linkEntry("l", "d"))
	tests := []struct {
		name string
		data []byte
		lim  Limits
		ok   bool
	}{
		{"bytes at the limit", files, Limits{MaxBytes: 10, MaxEntries: 10}, true},
		{"bytes over the limit", files, Limits{MaxBytes: 9, MaxEntries: 10}, false},
		{"entries at the limit", entries, Limits{MaxBytes: 10, MaxEntries: 3}, true},
		{"entries over the limit", entries, Limits{MaxBytes: 10, MaxEntries: 2}, false},
		{"skipped entries count", makeTar(t,
			tarEntry{name: "f1", typ: tar.TypeFifo}, tarEntry{name: "f2", typ: tar.TypeFifo},
			tarEntry{name: "../x", typ: tar.TypeReg}), Limits{MaxBytes: 10, MaxEntries: 2}, false},
		{"zero limits", files, Limits{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSnapshotSetup(t)
			err := s.extract(t, tt.data, tt.lim)
			if tt.ok {
				if err != nil {
					t.Fatal(err)
				}
				s.checkContained(t, TranscriptDir)
				return
			}
			if !errors.Is(err, ErrSnapshotTooLarge) {
				t.Fatalf("err = %v, want ErrSnapshotTooLarge", err)
			}
			s.checkContained(t)
		})
	}
}

func TestExtractSnapshotHugeHeader(t *testing.T) {
	// A header that claims a terabyte is refused from the header, before
	// anything is read or written.
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Name: "huge", Typeflag: tar.TypeReg, Size: 1 << 40, Mode: 0o644}); err != nil {
		t.Fatal(err)
	}
	if err := tw.Flush(); err == nil {
		t.Fatal("flush of a short entry succeeded")
	}
	s := newSnapshotSetup(t)
	err := s.extract(t, buf.Bytes(), Limits{MaxBytes: 1 << 30, MaxEntries: 10})
	if !errors.Is(err, ErrSnapshotTooLarge) {
		t.Fatalf("err = %v, want ErrSnapshotTooLarge", err)
	}
	s.checkContained(t)
}

func TestExtractSnapshotFailureKeepsPrevious(t *testing.T) {
	good := makeTar(t, dirEntry("projects/", 0o755), fileEntry("projects/a.jsonl", "keep me", 0o644))
	truncated := makeTar(t, fileEntry("a", strings.Repeat("x", 2000), 0o644))
	truncated = truncated[:1000]
	tests := []struct {
		name string
		data []byte
		lim  Limits
	}{
		{"truncated stream", truncated, DefaultLimits},
		{"garbage", bytes.Repeat([]byte("not a tar "), 100), DefaultLimits},
		{"too large", makeTar(t, fileEntry("big", strings.Repeat("x", 100), 0o644)), Limits{MaxBytes: 50, MaxEntries: 10}},
		{"write through a link", makeTar(t, fileEntry("ok", "x", 0o644), linkEntry("evil", "/"), fileEntry("evil/x", "x", 0o644)), DefaultLimits},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSnapshotSetup(t)
			if err := s.extract(t, good, DefaultLimits); err != nil {
				t.Fatal(err)
			}
			if err := s.extract(t, tt.data, tt.lim); err == nil {
				t.Fatal("extraction succeeded")
			} else if !strings.Contains(err.Error(), testIdentity) {
				t.Errorf("error %q does not name the identity", err)
			}
			got, err := os.ReadFile(s.d.Join(TranscriptDir, "projects", "a.jsonl"))
			if err != nil || string(got) != "keep me" {
				t.Errorf("previous snapshot lost: %q, %v", got, err)
			}
			s.checkContained(t, TranscriptDir)
		})
	}
}

// cancelReader cancels a context once more than after bytes were read.
type cancelReader struct {
	r      io.Reader
	n      int
	after  int
	cancel context.CancelFunc
}

func (c *cancelReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	if c.n > c.after {
		c.cancel()
	}
	return n, err
}

func TestExtractSnapshotContext(t *testing.T) {
	good := makeTar(t, fileEntry("a", "keep me", 0o644))
	var many []tarEntry
	for i := range 50 {
		many = append(many, fileEntry(strings.Repeat("f", i+1), "x", 0o644))
	}
	stream := makeTar(t, many...)

	t.Run("cancelled before", func(t *testing.T) {
		s := newSnapshotSetup(t)
		if err := s.extract(t, good, DefaultLimits); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		err := s.d.ExtractSnapshot(ctx, TranscriptDir, bytes.NewReader(stream), DefaultLimits)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
		if got, _ := os.ReadFile(s.d.Join(TranscriptDir, "a")); string(got) != "keep me" {
			t.Errorf("previous snapshot lost: %q", got)
		}
		s.checkContained(t, TranscriptDir)
	})
	t.Run("cancelled midway", func(t *testing.T) {
		s := newSnapshotSetup(t)
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		r := &cancelReader{r: bytes.NewReader(stream), after: 4096, cancel: cancel}
		err := s.d.ExtractSnapshot(ctx, TranscriptDir, r, DefaultLimits)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
		if r.n >= len(stream) {
			t.Errorf("read the whole stream (%d bytes) after the cancellation", r.n)
		}
		s.checkContained(t)
	})
}

func TestHasSnapshot(t *testing.T) {
	s := newSnapshotSetup(t)
	if s.d.HasSnapshot(TranscriptDir) {
		t.Error("HasSnapshot before any snapshot")
	}
	if err := os.Symlink(s.outside, s.d.Join(TranscriptDir)); err != nil {
		t.Fatal(err)
	}
	if s.d.HasSnapshot(TranscriptDir) {
		t.Error("HasSnapshot of a symlink to a dir")
	}
	if err := os.WriteFile(s.d.Join(WorkspaceDir), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if s.d.HasSnapshot(WorkspaceDir) {
		t.Error("HasSnapshot of a regular file")
	}
}
