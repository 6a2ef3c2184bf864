package buildctx

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// hashFixture is a context with a Dockerfile, a .dockerignore, a symlink and
// an ignored file.
func hashFixture(t *testing.T) (dockerfile, dir string) {
	t.Helper()
	dir = t.TempDir()
	dockerfile = filepath.Join(dir, "Dockerfile")
	write(t, dockerfile, "FROM busybox\nCOPY . /app\n", 0o644)
	write(t, filepath.Join(dir, ".dockerignore"), "*.tmp\n", 0o644)
	write(t, filepath.Join(dir, "src", "main.go"), "package main", 0o644)
	write(t, filepath.Join(dir, "run.sh"), "#!/bin/sh", 0o755)
	write(t, filepath.Join(dir, "scratch.tmp"), "ignored", 0o644)
	if err := os.Symlink("src/main.go", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	return dockerfile, dir
}

func mustHash(t *testing.T, dockerfile, dir string) string {
	t.Helper()
	h, err := Hash(dockerfile, dir)
	if err != nil {
		t.Fatalf("Hash: %v", err)
	}
	if len(h) != 64 || strings.Trim(h, "0123456789abcdef") != "" {
		t.Fatalf("Hash = %q, want 64 lowercase hex digits", h)
	}
	return h
}

func TestHashStable(t *testing.T) {
	df, dir := hashFixture(t)
	base := mustHash(t, df, dir)
	if again := mustHash(t, df, dir); again != base {
		t.Fatalf("hash changed between two runs: %s then %s", base, again)
	}
	// Mtimes do not count: a fresh checkout of the same tree reuses the image.
	old := time.Now().Add(-48 * time.Hour)
	for _, p := range []string{df, filepath.Join(dir, "src", "main.go"), filepath.Join(dir, "src")} {
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
	}
	if h := mustHash(t, df, dir); h != base {
		t.Error("hash changed after touching mtimes")
	}
	// Ignored files do not count either.
	write(t, filepath.Join(dir, "scratch.tmp"), "changed", 0o644)
	write(t, filepath.Join(dir, "new.tmp"), "new", 0o644)
	if h := mustHash(t, df, dir); h != base {
		t.Error("hash changed after editing ignored files")
	}
	// The same tree elsewhere hashes the same.
	df2, dir2 := hashFixture(t)
	if h := mustHash(t, df2, dir2); h != base {
		t.Error("an identical tree in another directory hashes differently")
	}
}

func TestHashDetectsChanges(t *testing.T) {
	changes := map[string]func(t *testing.T, df, dir string){
		"dockerfile": func(t *testing.T, df, _ string) { write(t, df, "FROM busybox\nCOPY . /srv\n", 0o644) },
		"content": func(t *testing.T, _, dir string) {
			write(t, filepath.Join(dir, "src", "main.go"), "package mian", 0o644)
		},
		"mode": func(t *testing.T, _, dir string) {
			if err := os.Chmod(filepath.Join(dir, "run.sh"), 0o644); err != nil {
				t.Fatal(err)
			}
		},
		"new file": func(t *testing.T, _, dir string) { write(t, filepath.Join(dir, "src", "util.go"), "", 0o644) },
		"empty dir": func(t *testing.T, _, dir string) {
			if err := os.Mkdir(filepath.Join(dir, "empty"), 0o755); err != nil {
				t.Fatal(err)
			}
		},
		"rename": func(t *testing.T, _, dir string) {
			if err := os.Rename(filepath.Join(dir, "run.sh"), filepath.Join(dir, "start.sh")); err != nil {
				t.Fatal(err)
			}
		},
		"symlink target": func(t *testing.T, _, dir string) {
			link := filepath.Join(dir, "link")
			if err := os.Remove(link); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink("run.sh", link); err != nil {
				t.Fatal(err)
			}
		},
		"dockerignore": func(t *testing.T, _, dir string) {
			write(t, filepath.Join(dir, ".dockerignore"), "*.tmp\nsrc\n", 0o644)
		},
		"moved bytes": func(t *testing.T, _, dir string) {
			// Same concatenated content, different split between files.
			write(t, filepath.Join(dir, "src", "main.go"), "package mai", 0o644)
			write(t, filepath.Join(dir, "run.sh"), "n#!/bin/sh", 0o755)
		},
	}
	for name, change := range changes {
		t.Run(name, func(t *testing.T) {
			df, dir := hashFixture(t)
			before := mustHash(t, df, dir)
			change(t, df, dir)
			if after := mustHash(t, df, dir); after == before {
				t.Errorf("hash unchanged after %s changed", name)
			}
		})
	}
}

func TestTag(t *testing.T) {
	h := strings.Repeat("ab", 32)
	if got, want := Tag(h), "bottle-agent:abababababababab"; got != want {
		t.Errorf("Tag = %q, want %q", got, want)
	}
}
