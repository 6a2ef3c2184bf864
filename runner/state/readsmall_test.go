package state

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// TestReadSmall: whole files up to the limit, one byte over it past the
// limit (so the caller can refuse it), and errors that say what failed.
func TestReadSmall(t *testing.T) {
	dir := t.TempDir()
	for _, size := range []int{0, 1, 4095, 4096, 4097, 10000, 10001, 20000} {
		data := bytes.Repeat([]byte{'x'}, size)
		p := filepath.Join(dir, "f")
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		got, err := readSmall(p, 10000)
		want := data[:min(size, 10001)]
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("size %d: read %d bytes, %v; want %d", size, len(got), err, len(want))
		}
	}
	if _, err := readSmall(filepath.Join(dir, "missing"), 10); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v, want fs.ErrNotExist", err)
	}
	if _, err := readSmall(dir, 10); err == nil {
		t.Error("reading a directory did not fail")
	}
}
