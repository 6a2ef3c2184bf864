package state

import (
	"bytes"
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

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f.txt")
	for _, tt := range []struct {
		data []byte
		perm fs.FileMode
	}{
		{[]byte("first\n"), 0o600},
		{[]byte("second, longer content\n"), 0o640},
		{nil, 0o644},
		{[]byte("x"), 0o755},
	} {
		if err := WriteFileAtomic(p, tt.data, tt.perm); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, tt.data) {
			t.Errorf("content = %q, want %q", got, tt.data)
		}
		fi, err := os.Lstat(p)
		if err != nil {
			t.Fatal(err)
		}
		// The mode is set with chmod, so the umask does not apply.
		if fi.Mode() != tt.perm {
			t.Errorf("mode = %v, want %v", fi.Mode(), tt.perm)
		}
		if names := dirNames(t, dir); !slices.Equal(names, []string{"f.txt"}) {
			t.Errorf("dir holds %q, want only f.txt (temp files left behind?)", names)
		}
	}
}

func TestWriteFileAtomicMissingDir(t *testing.T) {
	dir := t.TempDir()
	err := WriteFileAtomic(filepath.Join(dir, "nope", "f"), []byte("x"), 0o600)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("err = %v, want fs.ErrNotExist", err)
	}
	if err != nil && !strings.Contains(err.Error(), filepath.Join(dir, "nope", "f")) {
		t.Errorf("error %q does not name the file", err)
	}
}

func TestWriteFileAtomicRenameFails(t *testing.T) {
	// The target is a non-empty directory: the rename fails, and the temp
	// file must not be left behind.
	dir := t.TempDir()
	target := filepath.Join(dir, "target")
	if err := os.MkdirAll(filepath.Join(target, "child"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := WriteFileAtomic(target, []byte("x"), 0o600); err == nil {
		t.Fatal("writing over a non-empty directory succeeded")
	}
	if names := dirNames(t, dir); !slices.Equal(names, []string{"target"}) {
		t.Errorf("dir holds %q after a failed write, want only target", names)
	}
}

func TestWriteFileAtomicReplacesLink(t *testing.T) {
	// A link at the destination is replaced, never written through.
	dir := t.TempDir()
	outside := filepath.Join(t.TempDir(), "outside")
	if err := os.WriteFile(outside, []byte("precious"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "f")
	if err := os.Symlink(outside, p); err != nil {
		t.Fatal(err)
	}
	if err := WriteFileAtomic(p, []byte("new"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(outside); string(got) != "precious" {
		t.Errorf("link target = %q, was written through", got)
	}
	fi, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	if !fi.Mode().IsRegular() {
		t.Errorf("destination mode %v, want a regular file", fi.Mode())
	}
}

func TestWriteFileAtomicNoTornReads(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	contents := make([][]byte, 8)
	valid := map[string]bool{}
	for i := range contents {
		contents[i] = bytes.Repeat([]byte{byte('a' + i)}, 64<<10)
		valid[string(contents[i])] = true
	}
	if err := WriteFileAtomic(p, contents[0], 0o600); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, len(contents)*10)
	for i := range contents {
		wg.Go(func() {
			for range 10 {
				if err := WriteFileAtomic(p, contents[i], 0o600); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Go(func() {
		for range 200 {
			got, err := os.ReadFile(p)
			if err != nil {
				errs <- err
				continue
			}
			if !valid[string(got)] {
				errs <- fmt.Errorf("read a torn file of %d bytes", len(got))
			}
		}
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if names := dirNames(t, dir); !slices.Equal(names, []string{"f"}) {
		t.Errorf("dir holds %q, want only f", names)
	}
}

func TestWriteJSONAtomic(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "v.json")
	if err := WriteJSONAtomic(p, map[string]int{"a": 1}, 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if want := "{\n  \"a\": 1\n}\n"; string(got) != want {
		t.Errorf("content = %q, want %q", got, want)
	}
	err = WriteJSONAtomic(filepath.Join(dir, "bad.json"), make(chan int), 0o600)
	if err == nil {
		t.Fatal("encoding a channel succeeded")
	}
	if !strings.Contains(err.Error(), "bad.json") {
		t.Errorf("error %q does not name the file", err)
	}
	if names := dirNames(t, dir); !slices.Equal(names, []string{"v.json"}) {
		t.Errorf("dir holds %q after a failed encode", names)
	}
}
