package buildctx

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestUsedSources(t *testing.T) {
	cases := []struct {
		name, dockerfile string
		want             []string // nil: the whole context
	}{
		{"one file", "FROM busybox\nCOPY run.sh /usr/local/bin/\n", []string{"run.sh"}},
		{"json form and add", "FROM busybox\nCOPY [\"a b.txt\", \"./c/\", \"/dst/\"]\nADD --chown=1:1 d.tar /\n", []string{"a b.txt", "c", "d.tar"}},
		{"leading slash and dot", "FROM busybox\nCOPY /x/../y ./z /dst/\n", []string{"y", "z"}},
		{"wildcard", "FROM busybox\nCOPY scripts/*.sh /bin/\n", []string{"scripts/*.sh"}},
		{"another stage", "FROM busybox AS b\nRUN true\nFROM busybox\nCOPY --from=b /etc /etc\n", []string{}},
		{"url", "FROM busybox\nADD https://example.invalid/x.tgz /x\n", []string{}},
		{"heredoc", "FROM busybox\nCOPY <<EOF /greeting\nhello\nEOF\n", []string{}},
		{"continuation", "FROM busybox\nCOPY a \\\n  b /dst/\n", []string{"a", "b"}},
		{"whole context", "FROM busybox\nCOPY . /app\n", nil},
		{"root", "FROM busybox\nCOPY / /app\n", nil},
		{"outside", "FROM busybox\nCOPY ../secret /s\n", nil},
		{"variable", "FROM busybox\nARG F=a\nCOPY $F /dst\n", nil},
		{"double star", "FROM busybox\nCOPY **/*.go /src/\n", nil},
		{"run mount", "FROM busybox\nRUN --mount=type=bind,target=/src make\n", nil},
		{"bad pattern", "FROM busybox\nCOPY [ /dst\n", nil},
		{"no copy", "FROM busybox\nRUN echo hi\n", []string{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			u := usedSources([]byte(c.dockerfile))
			switch {
			case c.want == nil && u != nil:
				t.Fatalf("sources = %q, want the whole context", u.sources)
			case c.want != nil && u == nil:
				t.Fatalf("whole context, want %q", c.want)
			case u != nil && !slices.Equal(u.sources, c.want) && len(u.sources)+len(c.want) > 0:
				t.Fatalf("sources = %q, want %q", u.sources, c.want)
			}
		})
	}
}

func TestUsesMatch(t *testing.T) {
	u := &uses{sources: []string{"run.sh", "lib", "scripts/*.sh"}}
	cases := []struct {
		rel                string
		used, named, below bool
	}{
		{"run.sh", true, true, false},
		{"run.sh.bak", false, false, false},
		{"lib", true, true, false},
		{"lib/x/y.go", true, false, false},
		{"scripts", false, false, true},
		{"scripts/a.sh", true, true, false},
		{"scripts/a.py", false, false, false},
		{"scripts/sub/a.sh", false, false, false},
		{"work", false, false, false},
		{"work/notes.txt", false, false, false},
	}
	for _, c := range cases {
		used, named, below := u.match(c.rel)
		if used != c.used || named != c.named || below != c.below {
			t.Errorf("match(%q) = %v %v %v, want %v %v %v", c.rel, used, named, below, c.used, c.named, c.below)
		}
	}
}

// TestHashSeesOnlyWhatTheBuildReads: a Dockerfile that COPYs one script
// next to a folder that keeps changing (a bind-mounted cwd) hashes the
// same whatever happens in the folder, and differently when the script,
// the Dockerfile or the .dockerignore changes.
func TestHashSeesOnlyWhatTheBuildReads(t *testing.T) {
	dir := t.TempDir()
	df := filepath.Join(dir, "Dockerfile")
	write(t, df, "FROM busybox\nCOPY run.sh lib /opt/\n", 0o644)
	write(t, filepath.Join(dir, "run.sh"), "#!/bin/sh\n", 0o755)
	write(t, filepath.Join(dir, "lib", "a.sh"), "a", 0o644)
	write(t, filepath.Join(dir, "work", "notes.txt"), "1", 0o644)
	last := mustHash(t, df, dir)
	step := func(what string, change func(), wantChange bool) {
		t.Helper()
		change()
		now := mustHash(t, df, dir)
		if (now != last) != wantChange {
			t.Errorf("%s: hash changed = %v, want %v", what, now != last, wantChange)
		}
		last = now
	}
	step("a file in the cwd", func() { write(t, filepath.Join(dir, "work", "notes.txt"), "22", 0o644) }, false)
	step("a new file in the cwd", func() { write(t, filepath.Join(dir, "work", "deep", "n"), "x", 0o644) }, false)
	step("a new file at the top", func() { write(t, filepath.Join(dir, "README"), "x", 0o644) }, false)
	step("a symlink in the cwd", func() {
		if err := os.Symlink("../run.sh", filepath.Join(dir, "work", "l")); err != nil {
			t.Fatal(err)
		}
	}, false)
	step("the script", func() { write(t, filepath.Join(dir, "run.sh"), "#!/bin/sh\necho\n", 0o755) }, true)
	step("the script's mode", func() {
		if err := os.Chmod(filepath.Join(dir, "run.sh"), 0o700); err != nil {
			t.Fatal(err)
		}
	}, true)
	step("a file in a copied folder", func() { write(t, filepath.Join(dir, "lib", "b.sh"), "b", 0o644) }, true)
	step("the Dockerfile", func() { write(t, df, "FROM busybox\nCOPY run.sh lib /opt/\n# note\n", 0o644) }, true)
	step("the .dockerignore", func() { write(t, filepath.Join(dir, ".dockerignore"), "lib/b.sh\n", 0o644) }, true)
	step("an ignored file", func() { write(t, filepath.Join(dir, "lib", "b.sh"), "bb", 0o644) }, false)
}

// TestHashWholeContextWhenUnsure: a symlink on the way to a source is
// followed by the builder, so everything counts again.
func TestHashWholeContextWhenUnsure(t *testing.T) {
	dir := t.TempDir()
	df := filepath.Join(dir, "Dockerfile")
	write(t, df, "FROM busybox\nCOPY tools/run.sh /\n", 0o644)
	write(t, filepath.Join(dir, "real", "run.sh"), "1", 0o644)
	if err := os.Symlink("real", filepath.Join(dir, "tools")); err != nil {
		t.Fatal(err)
	}
	before := mustHash(t, df, dir)
	write(t, filepath.Join(dir, "real", "run.sh"), "2", 0o644)
	if mustHash(t, df, dir) == before {
		t.Fatal("a source behind a symlink changed and the hash did not")
	}
}

// FuzzUsedSources: any Dockerfile (a per-bottle one carries lines an agent
// asked for) is read without panicking, and every source it yields can be
// matched.
func FuzzUsedSources(f *testing.F) {
	for _, s := range []string{
		"FROM busybox\nCOPY run.sh /\n",
		"FROM a AS b\nCOPY --from=b x y\nADD [\"u\", \"v\"]\n",
		"# escape=`\nFROM x\nCOPY a `\n b /\n",
		"FROM x\nCOPY <<EOF /f\nhi\nEOF\n",
		"FROM x\nONBUILD COPY . /\nRUN --mount=type=cache,target=/c true\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, df []byte) {
		u := usedSources(df)
		if u == nil {
			return
		}
		for _, s := range u.sources {
			if s == "" || s[0] == '/' {
				t.Fatalf("source %q is not a context path", s)
			}
			u.match(s)
			u.match(s + "/x")
		}
	})
}
