package kubernetes

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

	"github.com/bottle-dev/bottle/backend"
)

// TestTarMounts checks the one stream that fills every mount: each mount's
// tree under its index, no entry for the mount point itself, hard links
// pointing into the same mount.
func TestTarMounts(t *testing.T) {
	a, q := t.TempDir(), t.TempDir()
	if err := os.MkdirAll(filepath.Join(a, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(a, "bin", "tool"), []byte("x"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(filepath.Join(a, "bin", "tool"), filepath.Join(a, "same")); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	mounts := []backend.Mount{{Source: a, Target: "/run/bottle"}, {Source: q, Target: "/run/bottle/queue"}}
	if err := tarMounts(context.Background(), mounts, &buf); err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(&buf)
	var names []string
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		entry := h.Name
		if h.Typeflag == tar.TypeLink {
			entry += " -> " + h.Linkname
		}
		names = append(names, entry)
	}
	slices.Sort(names)
	want := []string{"0/bin/", "0/bin/tool", "0/same -> 0/bin/tool"}
	if !slices.Equal(names, want) && !slices.Equal(names, []string{"0/bin/", "0/bin/tool -> 0/same", "0/same"}) {
		t.Fatalf("entries %q, want %q", names, want)
	}
}
