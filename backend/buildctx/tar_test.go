package buildctx

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// tarEntry is one entry read back from a stream under test.
type tarEntry struct {
	hdr  *tar.Header
	data string
}

// readTar reads a whole tar stream, keeping entry order.
func readTar(t *testing.T, b []byte) ([]string, map[string]tarEntry) {
	t.Helper()
	tr := tar.NewReader(bytes.NewReader(b))
	var names []string
	got := map[string]tarEntry{}
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return names, got
		}
		if err != nil {
			t.Fatalf("read tar: %v", err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatalf("read %s: %v", hdr.Name, err)
		}
		if _, dup := got[hdr.Name]; dup {
			t.Errorf("duplicate entry %q", hdr.Name)
		}
		names = append(names, hdr.Name)
		got[hdr.Name] = tarEntry{hdr: hdr, data: string(data)}
	}
}

// write creates a file with its parents.
func write(t *testing.T, path, data string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), mode); err != nil {
		t.Fatal(err)
	}
	// WriteFile's mode is filtered by the umask; tests want it exact.
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

func tarOf(t *testing.T, dir string, excludes []string) ([]string, map[string]tarEntry) {
	t.Helper()
	var buf bytes.Buffer
	if err := Tar(t.Context(), dir, excludes, &buf); err != nil {
		t.Fatalf("Tar: %v", err)
	}
	return readTar(t, buf.Bytes())
}

func TestTarKeepsMetadata(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "run.sh"), "#!/bin/sh\n", 0o755)
	write(t, filepath.Join(dir, "secret"), "s", 0o600)
	write(t, filepath.Join(dir, "sub", "deep", "f.txt"), "deep", 0o644)
	outside := t.TempDir()
	write(t, filepath.Join(outside, "not-copied"), "x", 0o644)
	for name, target := range map[string]string{
		"link":        "run.sh",
		"dangling":    "does/not/exist",
		"outside-dir": outside, // a symlink to a directory is not followed
	} {
		if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Link(filepath.Join(dir, "run.sh"), filepath.Join(dir, "sub", "hard")); err != nil {
		t.Fatal(err)
	}
	mtime := time.Date(2021, 3, 4, 5, 6, 7, 890_000_000, time.UTC)
	if err := os.Chtimes(filepath.Join(dir, "secret"), mtime, mtime); err != nil {
		t.Fatal(err)
	}

	names, got := tarOf(t, dir, nil)
	want := []string{"dangling", "link", "outside-dir", "run.sh", "secret", "sub/", "sub/deep/", "sub/deep/f.txt", "sub/hard"}
	if !slices.Equal(names, want) {
		t.Fatalf("entries = %q, want %q (sorted, relative, no root entry)", names, want)
	}
	checks := []struct {
		name string
		typ  byte
		mode int64
		link string
		data string
	}{
		{name: "run.sh", typ: tar.TypeReg, mode: 0o755, data: "#!/bin/sh\n"},
		{name: "secret", typ: tar.TypeReg, mode: 0o600, data: "s"},
		{name: "sub/deep/f.txt", typ: tar.TypeReg, mode: 0o644, data: "deep"},
		{name: "link", typ: tar.TypeSymlink, link: "run.sh", mode: 0o777},
		{name: "dangling", typ: tar.TypeSymlink, link: "does/not/exist", mode: 0o777},
		{name: "outside-dir", typ: tar.TypeSymlink, link: outside, mode: 0o777},
		{name: "sub/hard", typ: tar.TypeLink, link: "run.sh", mode: 0o755},
		{name: "sub/", typ: tar.TypeDir, mode: 0o755},
	}
	for _, c := range checks {
		e := got[c.name]
		if e.hdr.Typeflag != c.typ || e.hdr.Mode != c.mode || e.hdr.Linkname != c.link || e.data != c.data {
			t.Errorf("%s: type %c mode %o link %q data %q; want %c %o %q %q",
				c.name, e.hdr.Typeflag, e.hdr.Mode, e.hdr.Linkname, e.data, c.typ, c.mode, c.link, c.data)
		}
		if e.hdr.Uid != os.Getuid() || e.hdr.Gid != os.Getgid() {
			t.Errorf("%s: uid/gid %d/%d, want %d/%d", c.name, e.hdr.Uid, e.hdr.Gid, os.Getuid(), os.Getgid())
		}
	}
	if mt := got["secret"].hdr.ModTime; !mt.Equal(mtime.Truncate(time.Second)) {
		t.Errorf("secret mtime = %v, want %v", mt, mtime.Truncate(time.Second))
	}
}

func TestTarExcludes(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{
		"main.go", "debug.log", "sub/trace.log",
		"node_modules/pkg/index.js",
		".git/HEAD", ".git/objects/ab/cdef",
		"build/out.bin", "build/keep.txt",
		"docs/a.md", "docs/private/b.md",
	} {
		write(t, filepath.Join(dir, f), f, 0o644)
	}
	excludes := []string{
		"node_modules", "/.git/objects", "**/*.log",
		"build", "!build/keep.txt",
		"docs/private/", "",
	}
	names, _ := tarOf(t, dir, excludes)
	want := []string{
		".git/", ".git/HEAD",
		// build/ itself is excluded (no entry), but the exception below it
		// is still sent, as the docker CLI does.
		"build/keep.txt",
		"docs/", "docs/a.md",
		"main.go", "sub/",
	}
	if !slices.Equal(names, want) {
		t.Fatalf("entries = %q\nwant      %q", names, want)
	}
}

func TestTarErrors(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "a"), "a", 0o644)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := Tar(ctx, dir, nil, io.Discard); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled Tar = %v, want context.Canceled", err)
	}
	if err := Tar(t.Context(), filepath.Join(dir, "missing"), nil, io.Discard); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Tar of a missing dir = %v, want ErrNotExist", err)
	}
	if err := Tar(t.Context(), filepath.Join(dir, "a"), nil, io.Discard); err == nil {
		t.Error("Tar of a file: no error")
	}
	if err := Tar(t.Context(), dir, []string{"["}, io.Discard); err == nil {
		t.Error("Tar with a malformed pattern: no error")
	}
}

func TestTarLargeFile(t *testing.T) {
	dir := t.TempDir()
	// Larger than the copy buffer, not a multiple of it.
	big := bytes.Repeat([]byte("0123456789abcdef"), bufSize/16*2+7)
	write(t, filepath.Join(dir, "big"), string(big), 0o644)
	_, got := tarOf(t, dir, nil)
	if got["big"].data != string(big) {
		t.Errorf("big file: %d bytes back, want %d", len(got["big"].data), len(big))
	}
}
