package changes

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/bottle-dev/bottle/backend/buildctx"
)

func sh(t *testing.T, dir string, argv ...string) string {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@t", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@t")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %v\n%s", argv, err, out)
	}
	return string(out)
}

func put(t *testing.T, dir, name, content string, mode os.FileMode) {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	_ = os.Remove(p)
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
}

// tarOf is the tree as a bottle's CopyOut would stream it.
func tarOf(t *testing.T, dir string) io.Reader {
	t.Helper()
	var buf bytes.Buffer
	if err := buildctx.Tar(t.Context(), dir, nil, &buf); err != nil {
		t.Fatal(err)
	}
	return &buf
}

func scan(t *testing.T, dir string) *Manifest {
	t.Helper()
	m, err := Scan(t.Context(), tarOf(t, dir), DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	m.Dir = dir
	return m
}

// project is a git work tree as a user has it at launch: commits, an
// uncommitted edit, an untracked file and an ignored folder.
func project(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "project")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	sh(t, dir, "git", "init", "-q", "-b", "main")
	put(t, dir, "a.txt", "one\ntwo\nthree\n", 0o644)
	put(t, dir, "b.txt", "bee\n", 0o644)
	put(t, dir, "both.txt", "base\n", 0o644)
	put(t, dir, "run.sh", "echo hi\n", 0o644)
	put(t, dir, "blob.bin", "\x00\x01\x02", 0o644)
	put(t, dir, "sub/d.txt", "dee\n", 0o644)
	put(t, dir, ".gitignore", "ignored/\n", 0o644)
	sh(t, dir, "git", "add", "-A")
	sh(t, dir, "git", "commit", "-q", "-m", "start")
	put(t, dir, "b.txt", "bee, edited on the host\n", 0o644) // uncommitted, agent leaves it
	put(t, dir, "both.txt", "base\nhost line\n", 0o644)      // uncommitted, agent edits it too
	put(t, dir, "untracked.txt", "mine\n", 0o644)            // untracked, agent leaves it
	put(t, dir, "ignored/cache", "cached\n", 0o644)
	return dir
}

// agent copies dir as the bottle got it and changes it as an agent would.
func agent(t *testing.T, dir string) string {
	t.Helper()
	ws := filepath.Join(t.TempDir(), "workspace")
	sh(t, ".", "cp", "-a", dir, ws)
	put(t, ws, "a.txt", "one\n2\nthree\n", 0o644)
	put(t, ws, "new.txt", "fresh\n", 0o644)
	put(t, ws, "both.txt", "base\nhost line\nagent line\n", 0o644)
	put(t, ws, "blob.bin", "\x00\x09\x02\x03", 0o644)
	put(t, ws, "ignored/more", "more\n", 0o644)
	put(t, ws, ".git/hooks/post-checkout", "#!/bin/sh\ntouch /tmp/pwned\n", 0o755)
	if err := os.Remove(filepath.Join(ws, "sub/d.txt")); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(ws, "run.sh"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("a.txt", filepath.Join(ws, "link")); err != nil {
		t.Fatal(err)
	}
	return ws
}

func compareDirs(t *testing.T, base *Manifest, ws string) *Set {
	t.Helper()
	store, err := NewStore(t.TempDir(), 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	set, err := Compare(t.Context(), base, tarOf(t, ws), store, DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	return set
}

func kinds(cs []Change) []string {
	var out []string
	for _, c := range cs {
		out = append(out, string(c.Kind)+" "+c.Path)
	}
	return out
}

func TestCompareFindsEachKindOfChange(t *testing.T) {
	dir := project(t)
	base := scan(t, dir)
	set := compareDirs(t, base, agent(t, dir))
	want := []string{
		"modified a.txt", "modified blob.bin", "modified both.txt", "added ignored/more",
		"added link", "added new.txt", "modified run.sh", "deleted sub/d.txt",
	}
	if got := kinds(set.Changes); !reflect.DeepEqual(got, want) {
		t.Errorf("changes:\n got %q\nwant %q", got, want)
	}
	if got := kinds(set.Git); len(got) == 0 || !strings.Contains(strings.Join(got, ","), "added .git/hooks/post-checkout") {
		t.Errorf("the workspace's .git changes are not apart: %q", got)
	}
	for _, c := range set.Changes {
		if c.Path == "run.sh" && c.ContentChanged() {
			t.Error("run.sh: only its mode changed")
		}
	}
}

// snapshotRepo is everything of the user's checkout a branch export must
// leave alone.
func snapshotRepo(t *testing.T, dir string) string {
	t.Helper()
	idx, err := os.ReadFile(filepath.Join(dir, ".git", "index"))
	if err != nil {
		t.Fatal(err)
	}
	refs := sh(t, dir, "git", "for-each-ref", "--format=%(refname) %(objectname)")
	var kept []string
	for _, l := range strings.Split(refs, "\n") {
		if !strings.HasPrefix(l, "refs/heads/bottle/") {
			kept = append(kept, l)
		}
	}
	return strings.Join([]string{
		sh(t, dir, "git", "status", "--porcelain=v2", "--untracked-files=all", "--ignored"),
		string(idx), sh(t, dir, "git", "rev-parse", "HEAD"), sh(t, dir, "git", "symbolic-ref", "HEAD"),
		sh(t, dir, "git", "stash", "list"), strings.Join(kept, "\n"),
		sh(t, dir, "sh", "-c", "find . -path ./.git -prune -o -print | sort | xargs -d '\\n' sha256sum 2>/dev/null || true"),
	}, "\x00")
}

func TestBranchHoldsExactlyTheAgentsChanges(t *testing.T) {
	dir := project(t)
	g, err := FindGit(t.Context(), dir)
	if err != nil || g == nil || g.Commit == "" {
		t.Fatalf("FindGit: %+v, %v", g, err)
	}
	base := scan(t, dir)
	base.Git = g
	set := compareDirs(t, base, agent(t, dir))
	before := snapshotRepo(t, dir)
	res, err := set.Branch(t.Context(), base, BranchOptions{Name: "bottle/t-abcde", Message: "agent work"})
	if err != nil {
		t.Fatal(err)
	}
	if after := snapshotRepo(t, dir); after != before {
		t.Errorf("the user's checkout changed:\nbefore %q\nafter  %q", before, after)
	}
	if !reflect.DeepEqual(res.Ignored, []string{"ignored/more"}) {
		t.Errorf("ignored = %q", res.Ignored)
	}
	if p := strings.TrimSpace(sh(t, dir, "git", "rev-parse", "bottle/t-abcde^")); p != g.Commit {
		t.Errorf("parent %s, want the launch commit %s", p, g.Commit)
	}
	got := sh(t, dir, "git", "diff", "--name-status", "--no-renames", g.Commit, "bottle/t-abcde")
	want := "M\ta.txt\nM\tblob.bin\nM\tboth.txt\nA\tlink\nA\tnew.txt\nM\trun.sh\nD\tsub/d.txt\n"
	if got != want {
		t.Errorf("branch diff:\n%s\nwant:\n%s", got, want)
	}
	// Uncommitted host changes: on the branch only where the agent changed
	// the file too.
	if b := sh(t, dir, "git", "show", "bottle/t-abcde:b.txt"); b != "bee\n" {
		t.Errorf("b.txt on the branch = %q, want the committed content", b)
	}
	if b := sh(t, dir, "git", "show", "bottle/t-abcde:both.txt"); b != "base\nhost line\nagent line\n" {
		t.Errorf("both.txt on the branch = %q", b)
	}
	if out := sh(t, dir, "git", "ls-tree", "bottle/t-abcde", "run.sh", "link"); !strings.Contains(out, "100755 blob") || !strings.Contains(out, "120000 blob") {
		t.Errorf("modes on the branch:\n%s", out)
	}
	if out := sh(t, dir, "git", "ls-tree", "-r", "--name-only", "bottle/t-abcde"); strings.Contains(out, ".git/") || strings.Contains(out, "post-checkout") {
		t.Errorf("the workspace's .git reached the branch:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(dir, ".git", "hooks", "post-checkout")); err == nil {
		t.Error("the bottle's hook reached the user's .git")
	}

	// A second export to a name that exists is refused; the identity's own
	// branch may be replaced.
	if _, err := set.Branch(t.Context(), base, BranchOptions{Name: "bottle/t-abcde"}); err == nil {
		t.Error("an existing branch was overwritten")
	}
	if _, err := set.Branch(t.Context(), base, BranchOptions{Name: "bottle/t-abcde", Replace: true}); err != nil {
		t.Error(err)
	}
	if _, err := set.Branch(t.Context(), base, BranchOptions{Name: "bad..name"}); err == nil {
		t.Error("an invalid branch name was taken")
	}
}

func TestPatchReproducesTheWorkspace(t *testing.T) {
	dir := t.TempDir()
	put(t, dir, "a.txt", "one\ntwo\nthree\n", 0o644)
	put(t, dir, "run.sh", "echo hi\n", 0o644)
	put(t, dir, "blob.bin", "\x00\x01\x02", 0o644)
	put(t, dir, "sub/d.txt", "dee\n", 0o644)
	put(t, dir, "empty", "", 0o644)
	put(t, dir, "quote\"d.txt", "q\n", 0o644)
	put(t, dir, "kind", "was a file\n", 0o644)
	launch := filepath.Join(t.TempDir(), "launch")
	sh(t, ".", "cp", "-a", dir, launch)
	base := scan(t, dir)
	ws := agent(t, dir)
	put(t, ws, "noeol.txt", "no newline", 0o644)
	put(t, ws, "empty-new", "", 0o644)
	put(t, ws, "quote\"d.txt", "q2\n", 0o644)
	put(t, ws, "héllo.txt", "unicode name\n", 0o644)
	if err := os.Remove(filepath.Join(ws, "kind")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("a.txt", filepath.Join(ws, "kind")); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(ws, "empty")); err != nil {
		t.Fatal(err)
	}
	set := compareDirs(t, base, ws)
	var patch bytes.Buffer
	if err := set.WritePatch(t.Context(), &patch, base, PatchOptions{Binary: true}); err != nil {
		t.Fatal(err)
	}
	pf := filepath.Join(t.TempDir(), "p.patch")
	if err := os.WriteFile(pf, patch.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	sh(t, launch, "git", "apply", pf)
	got, want := scan(t, launch), scan(t, ws)
	strip := func(es []Entry) []Entry {
		var out []Entry
		for _, e := range es {
			if !inGitDir(e.Path) && e.Type != Dir {
				e.Mode &= 0o100
				out = append(out, e)
			}
		}
		return out
	}
	if g, w := strip(got.Entries), strip(want.Entries); !reflect.DeepEqual(g, w) {
		t.Errorf("git apply gave\n%+v\nwant\n%+v\npatch:\n%s", g, w, patch.String())
	}
}

func TestScanRejectsHostileNames(t *testing.T) {
	for _, name := range []string{"../x", "/etc/passwd", "a/../../b", "a\x1b[2Jb", "a//b"} {
		if _, err := CleanName(name); err == nil {
			t.Errorf("CleanName(%q) accepted", name)
		}
	}
	for name, want := range map[string]string{"./a/b": "a/b", "dir/": "dir", ".": "", "./": ""} {
		if got, err := CleanName(name); err != nil || got != want {
			t.Errorf("CleanName(%q) = %q, %v", name, got, err)
		}
	}
}

func TestStoreCapsWhatIsKept(t *testing.T) {
	store, err := NewStore(t.TempDir(), 10)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if _, err := store.Put(strings.NewReader("0123456789abc"), 13); err == nil {
		t.Error("a store over its cap took more")
	}
	base := &Manifest{}
	var buf bytes.Buffer
	_ = buildctx.Tar(context.Background(), project(t), nil, &buf)
	if _, err := Compare(t.Context(), base, &buf, store, DefaultLimits); err == nil {
		t.Error("a workspace larger than the store's cap was compared")
	}
	if _, err := Scan(t.Context(), tarOf(t, project(t)), Limits{MaxEntries: 3, MaxBytes: 1 << 20}); err == nil {
		t.Error("more entries than the limit were scanned")
	}
}

// only keeps the entries of a tar stream at or below paths.
func only(t *testing.T, r io.Reader, paths ...string) io.Reader {
	t.Helper()
	var out bytes.Buffer
	tw := tar.NewWriter(&out)
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if !selected(strings.TrimSuffix(h.Name, "/"), paths) {
			continue
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(tw, tr); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return &out
}

// TestComparePartialMatchesCompare: a stream of only what an engine says
// changed gives the same changes as the whole workspace.
func TestComparePartialMatchesCompare(t *testing.T) {
	dir := project(t)
	base := scan(t, dir)
	ws := agent(t, dir)
	full := compareDirs(t, base, ws)
	touched := []string{"a.txt", "new.txt", "both.txt", "blob.bin", "ignored/more", "run.sh", "link", ".git/hooks", "b.txt"}
	store, err := NewStore(t.TempDir(), 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	set, err := ComparePartial(t.Context(), base, only(t, tarOf(t, ws), touched...),
		Partial{Deleted: []string{"sub/d.txt"}, Touched: touched}, store, DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := kinds(set.Changes), kinds(full.Changes); !reflect.DeepEqual(got, want) {
		t.Errorf("partial:\n got %q\nwant %q", got, want)
	}
	if got, want := kinds(set.Git), []string{"added .git/hooks/post-checkout"}; !reflect.DeepEqual(got, want) {
		t.Errorf("partial .git changes %q, want %q", got, want)
	}
	// A deleted folder takes what was below it.
	set, err = ComparePartial(t.Context(), base, only(t, tarOf(t, dir), "nothing"), Partial{Deleted: []string{"sub"}}, store, DefaultLimits)
	if err != nil || !reflect.DeepEqual(kinds(set.Changes), []string{"deleted sub/d.txt"}) {
		t.Errorf("a deleted folder: %q, %v", kinds(set.Changes), err)
	}
}
