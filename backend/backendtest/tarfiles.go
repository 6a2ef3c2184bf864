package backendtest

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"testing"
	"time"
)

// file is one entry of a tar stream built or read by the suite.
type file struct {
	name string
	mode int64
	body string
	link string // symlink target
	dir  bool
}

// tarOf builds a tar stream of files, in order.
func tarOf(t *testing.T, files ...file) *bytes.Buffer {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	mtime := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, f := range files {
		hdr := &tar.Header{Name: f.name, Mode: f.mode, ModTime: mtime}
		switch {
		case f.dir:
			hdr.Typeflag = tar.TypeDir
		case f.link != "":
			hdr.Typeflag, hdr.Linkname = tar.TypeSymlink, f.link
		default:
			hdr.Typeflag, hdr.Size = tar.TypeReg, int64(len(f.body))
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(tw, f.body); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return &buf
}

// readTar reads a tar stream into a map by entry name, failing on a
// duplicate name.
func readTar(t *testing.T, r io.Reader) map[string]file {
	t.Helper()
	tr := tar.NewReader(r)
	got := map[string]file{}
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return got
		}
		if err != nil {
			t.Fatalf("read tar: %v", err)
		}
		body, err := io.ReadAll(tr)
		if err != nil {
			t.Fatalf("read tar entry %s: %v", hdr.Name, err)
		}
		if _, dup := got[hdr.Name]; dup {
			t.Errorf("tar has %q twice", hdr.Name)
		}
		got[hdr.Name] = file{
			name: hdr.Name,
			mode: hdr.Mode & 0o7777,
			body: string(body),
			link: hdr.Linkname,
			dir:  hdr.Typeflag == tar.TypeDir,
		}
	}
}
