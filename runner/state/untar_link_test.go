package state

import (
	"archive/tar"
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
)

func hardEntry(name, target string) tarEntry {
	return tarEntry{name: name, typ: tar.TypeLink, linkname: target}
}

// inode returns the inode of path, failing the test if it is not a regular
// file.
func inode(t *testing.T, path string) (ino, nlink uint64) {
	t.Helper()
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || !fi.Mode().IsRegular() {
		t.Fatalf("%s: mode %v", path, fi.Mode())
	}
	return st.Ino, uint64(st.Nlink)
}

// Hard links between files of the workspace come back as hard links.
func TestExtractSnapshotHardLinks(t *testing.T) {
	s := newSnapshotSetup(t)
	data := makeTar(t,
		fileEntry("a", "shared", 0o644),
		hardEntry("b", "a"),
		hardEntry("d/c", "./a"), // parents made; the name cleaned
		fileEntry("sub/x", "x", 0o600),
		hardEntry("sub/y", "sub/x"),
	)
	if err := s.d.ExtractSnapshot(t.Context(), WorkspaceDir, bytes.NewReader(data), DefaultLimits); err != nil {
		t.Fatal(err)
	}
	s.checkContained(t, WorkspaceDir)
	root := s.d.Join(WorkspaceDir)
	ia, n := inode(t, filepath.Join(root, "a"))
	if n != 3 {
		t.Errorf("a has %d links, want 3", n)
	}
	for _, p := range []string{"b", "d/c"} {
		if i, _ := inode(t, filepath.Join(root, p)); i != ia {
			t.Errorf("%s is not a link to a", p)
		}
		if got, _ := os.ReadFile(filepath.Join(root, p)); string(got) != "shared" {
			t.Errorf("%s = %q", p, got)
		}
	}
	ix, _ := inode(t, filepath.Join(root, "sub/x"))
	if iy, _ := inode(t, filepath.Join(root, "sub/y")); ix != iy {
		t.Error("sub/y is not a link to sub/x")
	}
}

// A hard link to anything but a regular file this stream already extracted
// is skipped: outside the tree, not yet extracted, a directory, a symbolic
// link, itself, or a file since replaced by a link.
func TestExtractSnapshotRefusesOtherHardLinks(t *testing.T) {
	s := newSnapshotSetup(t)
	precious := filepath.Join(s.outside, "f")
	if err := os.WriteFile(precious, []byte("precious"), 0o644); err != nil {
		t.Fatal(err)
	}
	data := makeTar(t,
		hardEntry("early", "later"),
		fileEntry("later", "l", 0o644),
		hardEntry("abs", precious),
		hardEntry("up", "../../../../outside/f"),
		hardEntry("dots", "a/../../later"),
		dirEntry("dir/", 0o755),
		hardEntry("to-dir", "dir"),
		linkEntry("sym", "later"),
		hardEntry("to-sym", "sym"),
		hardEntry("self", "self"),
		fileEntry("was-file", "w", 0o644),
		linkEntry("was-file", precious),
		hardEntry("to-replaced", "was-file"),
		hardEntry("to-passwd", "/etc/passwd"),
	)
	if err := s.extract(t, data, DefaultLimits); err != nil {
		t.Fatal(err)
	}
	if got := dirNames(t, s.d.Join(TranscriptDir)); !slices.Equal(got, []string{"dir", "later", "sym", "was-file"}) {
		t.Errorf("snapshot holds %q", got)
	}
	if _, n := inode(t, precious); n != 1 {
		t.Errorf("outside file has %d links", n)
	}
	if got, _ := os.ReadFile(precious); string(got) != "precious" {
		t.Errorf("outside file = %q", got)
	}
	if _, n := inode(t, s.d.Join(TranscriptDir, "later")); n != 1 {
		t.Errorf("later has %d links", n)
	}
	if err := os.Remove(precious); err != nil {
		t.Fatal(err)
	}
	s.checkContained(t, TranscriptDir)
}
