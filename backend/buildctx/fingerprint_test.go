package buildctx

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestFingerprint: the fingerprint is stable while nothing changes, and
// changes with every change Tar would carry: content of the same size under
// a restored mtime, a mode, a new or removed file, a symlink's target; an
// excluded file changes nothing.
func TestFingerprint(t *testing.T) {
	dir := t.TempDir()
	write := func(rel, data string) {
		t.Helper()
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("a.txt", "aaaa")
	write("sub/b.txt", "bbbb")
	write("node_modules/x.js", "x")
	if err := os.Symlink("a.txt", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	excludes := []string{"node_modules"}
	fp := func() string {
		t.Helper()
		s, err := Fingerprint(t.Context(), dir, excludes)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	last := fp()
	if again := fp(); again != last {
		t.Fatalf("fingerprint of an unchanged tree changed: %s then %s", last, again)
	}
	step := func(what string, change func(), wantChange bool) {
		t.Helper()
		change()
		now := fp()
		if (now != last) != wantChange {
			t.Errorf("%s: fingerprint changed = %v, want %v", what, now != last, wantChange)
		}
		last = now
	}
	step("an excluded file", func() { write("node_modules/x.js", "yy") }, false)
	step("same size, mtime put back", func() {
		fi, _ := os.Stat(filepath.Join(dir, "a.txt"))
		time.Sleep(10 * time.Millisecond)
		write("a.txt", "AAAA")
		if err := os.Chtimes(filepath.Join(dir, "a.txt"), fi.ModTime(), fi.ModTime()); err != nil {
			t.Fatal(err)
		}
	}, true)
	step("a mode", func() {
		if err := os.Chmod(filepath.Join(dir, "sub/b.txt"), 0o600); err != nil {
			t.Fatal(err)
		}
	}, true)
	step("a new file", func() { write("sub/c.txt", "") }, true)
	step("a removed file", func() {
		if err := os.Remove(filepath.Join(dir, "sub/c.txt")); err != nil {
			t.Fatal(err)
		}
	}, true)
	step("a symlink's target", func() {
		p := filepath.Join(dir, "link")
		if err := os.Remove(p); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink("sub/b.txt", p); err != nil {
			t.Fatal(err)
		}
	}, true)
}
