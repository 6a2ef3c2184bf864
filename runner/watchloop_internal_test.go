package runner

import (
	"path/filepath"
	"slices"
	"testing"
)

func TestChangedIdentities(t *testing.T) {
	root := filepath.Join(t.TempDir(), "state")
	ids, ok := changedIdentities(root, []string{
		filepath.Join(root, "a-11111", "queue", "r1.json"),
		filepath.Join(root, "b-22222"),
		filepath.Join(root, "a-11111", "Dockerfile"),
	})
	if !ok || !slices.Equal(ids, []string{"a-11111", "b-22222"}) {
		t.Errorf("changedIdentities = %q, %v", ids, ok)
	}
	for _, p := range []string{root, filepath.Dir(root), "/elsewhere/x"} {
		if _, ok := changedIdentities(root, []string{p}); ok {
			t.Errorf("%s: want a full scan", p)
		}
	}
}
