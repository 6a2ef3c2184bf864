package backendtest

import (
	"crypto/sha256"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// treeDigest returns the number of files, their total size and a digest of
// names and contents.
func treeDigest(t *testing.T, dir string) (files int, size int64, sum [32]byte) {
	t.Helper()
	h := sha256.New()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		h.Write([]byte(rel))
		h.Write(data)
		files++
		size += int64(len(data))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	copy(sum[:], h.Sum(nil))
	return files, size, sum
}

func TestGenerateTree(t *testing.T) {
	a, b := t.TempDir(), filepath.Join(t.TempDir(), "new")
	for _, dir := range []string{a, b} {
		if err := GenerateTree(dir, 237, 1<<20+3); err != nil {
			t.Fatal(err)
		}
	}
	files, size, sumA := treeDigest(t, a)
	if files != 237 || size != 1<<20+3 {
		t.Errorf("tree has %d files, %d bytes; want 237, %d", files, size, 1<<20+3)
	}
	if _, _, sumB := treeDigest(t, b); sumA != sumB {
		t.Error("two trees of the same arguments differ")
	}
	if err := GenerateTree(t.TempDir(), 0, 1); err == nil {
		t.Error("zero files: no error")
	}
}
