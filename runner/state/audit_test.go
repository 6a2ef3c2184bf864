package state

import (
	"os"
	"path/filepath"
	"testing"
)

// TestRemoveKeepsAudit: removing a state dir keeps its audit log under
// BOTTLE_HOME/audit, appended to one kept before; an audit.jsonl that is
// a symlink is not followed out of the dir.
func TestRemoveKeepsAudit(t *testing.T) {
	home := Home{Path: t.TempDir()}
	const id = "b-k3x9a"
	for i, line := range []string{"first", "second"} {
		d, err := home.Create(id)
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Audit(line, nil); err != nil {
			t.Fatal(err)
		}
		if err := d.Remove(); err != nil {
			t.Fatalf("remove %d: %v", i, err)
		}
	}
	kept, err := home.KeptAudit(id)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(kept)
	if err != nil {
		t.Fatal(err)
	}
	if got := countLines(data); got != 2 {
		t.Errorf("kept log has %d lines, want 2:\n%s", got, data)
	}

	secret := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secret, []byte("not an audit log\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	d, err := home.Create("b-l1nk0")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(secret, d.Join(AuditFile)); err != nil {
		t.Fatal(err)
	}
	if err := d.Remove(); err != nil {
		t.Fatal(err)
	}
	if p, _ := home.KeptAudit("b-l1nk0"); fileExists(p) {
		t.Error("a symlinked audit.jsonl was kept")
	}
}

func countLines(b []byte) int {
	n := 0
	for _, c := range b {
		if c == '\n' {
			n++
		}
	}
	return n
}

func fileExists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}
