package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// workAgent changes its copied workspace in every way an export must
// carry (edit, add, delete, chmod, symlink, binary), plants a hook in the
// workspace's .git, says so, and then waits (detached) or ends.
func workAgent(wait bool) string {
	tail := ""
	if wait {
		tail = "\n    sleep 600"
	}
	return `
agent "worker" {
  image   = "busybox:latest"
  command = ["sh", "-c", <<-EOT
    set -e
    cd /workspace
    sed -i 's/two/2/' a.txt
    echo fresh > new.txt
    rm sub/d.txt
    chmod +x run.sh
    ln -s a.txt link
    printf '\000\011\002' > blob.bin
    if [ -d .git ]; then
      mkdir -p .git/hooks
      printf '#!/bin/sh\ntouch /tmp/pwned\n' > .git/hooks/post-checkout
      chmod +x .git/hooks/post-checkout
    fi
    echo work-done` + tail + `
  EOT
  ]
}

bottle "work" {
  agent = agent.worker
  cwd {
    path   = "project"
    copy   = true
    target = "/workspace"
  }
}
`
}

func (e *e2e) git(args ...string) string {
	e.t.Helper()
	c := exec.Command("git", args...)
	c.Dir = filepath.Join(e.dir, "project")
	c.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@t", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@t")
	out, err := c.CombinedOutput()
	if err != nil {
		e.t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return string(out)
}

func (e *e2e) workProject(git bool) {
	e.write("bottle.hcl", workAgent(git))
	e.write("project/a.txt", "one\ntwo\nthree\n")
	e.write("project/b.txt", "bee\n")
	e.write("project/run.sh", "echo hi\n")
	e.write("project/blob.bin", "\x00\x01\x02")
	e.write("project/sub/d.txt", "dee\n")
	if git {
		e.git("init", "-q", "-b", "main")
		e.git("add", "-A")
		e.git("commit", "-q", "-m", "start")
		e.write("project/b.txt", "bee, uncommitted\n") // a host change the agent leaves alone
		e.git("stash", "list")
	}
}

// checkout is everything of the user's repository an export must leave
// byte for byte alone (besides adding its branch).
func (e *e2e) checkout() string {
	e.t.Helper()
	idx, err := os.ReadFile(filepath.Join(e.dir, "project/.git/index"))
	if err != nil {
		e.t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(e.dir, "project/b.txt"))
	var refs []string
	for _, l := range strings.Split(e.git("for-each-ref", "--format=%(refname) %(objectname)"), "\n") {
		if !strings.HasPrefix(l, "refs/heads/bottle/") {
			refs = append(refs, l)
		}
	}
	hooks, _ := os.ReadDir(filepath.Join(e.dir, "project/.git/hooks"))
	var names []string
	for _, h := range hooks {
		names = append(names, h.Name())
	}
	return strings.Join([]string{e.git("status", "--porcelain=v2", "--untracked-files=all"), string(idx),
		e.git("rev-parse", "HEAD"), e.git("symbolic-ref", "HEAD"), e.git("stash", "list"), strings.Join(refs, "\n"), string(b),
		strings.Join(names, ",")}, "\x00")
}

// TestCopyModeWorkComesOutAsABranch: while a copy-mode bottle runs, diff
// shows the agent's changes and export writes a patch; when it is stopped
// its work lands on bottle/<identity>, exactly those changes on the launch
// commit, while the user's checkout stays byte-identical and the hook the
// agent planted in the workspace's .git goes nowhere.
func TestCopyModeWorkComesOutAsABranch(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	e.workProject(true)
	head := strings.TrimSpace(e.git("rev-parse", "HEAD"))
	before := e.checkout()

	r := e.mustRun("apply", "--auto-approve", "--detach")
	ids := identities(r.stderr)
	if len(ids) != 1 {
		t.Fatalf("identities %v\n%s", ids, r.stderr)
	}
	id := ids[0]
	e.waitFor("the agent's work", time.Minute, func() bool {
		return strings.Contains(e.run("logs", id).stdout, "work-done")
	})

	stat := e.mustRun("diff", id, "--stat").stdout
	contains(t, "diff --stat", stat, "modified a.txt (+1 -1)", "added    new.txt", "deleted  sub/d.txt",
		"mode 100644 → 100755", "added    link (+1 -0, symlink)", "modified blob.bin (binary)",
		"Changes inside the workspace's .git (never exported)", ".git/hooks/post-checkout")
	full := e.mustRun("diff", id).stdout
	contains(t, "diff", full, "-two\n+2\n", "Binary files a/blob.bin and b/blob.bin differ", "new mode 100755")
	if strings.Contains(full, "b.txt") {
		t.Errorf("diff shows b.txt, which the agent did not touch:\n%s", full)
	}
	var doc struct {
		Changes []struct{ Path, Change string }
	}
	if err := json.Unmarshal([]byte(e.mustRun("diff", id, "--json", "--", "sub").stdout), &doc); err != nil ||
		len(doc.Changes) != 1 || doc.Changes[0].Path != "sub/d.txt" || doc.Changes[0].Change != "deleted" {
		t.Errorf("diff --json -- sub: %+v, %v", doc, err)
	}

	patch := filepath.Join(t.TempDir(), "work.patch")
	contains(t, "export --patch", e.mustRun("export", id, "--patch", patch).stdout, "Exported 6 changed files")
	if b, err := os.ReadFile(patch); err != nil || !strings.Contains(string(b), "GIT binary patch") {
		t.Errorf("patch: %v\n%s", err, b)
	}

	stop := e.mustRun("stop", id)
	branch := "bottle/" + id
	contains(t, "stop", stop.stderr, "on branch "+branch, "diff HEAD..."+branch)
	if got := e.checkout(); got != before {
		t.Errorf("the user's checkout changed:\nbefore %q\nafter  %q", before, got)
	}
	if p := strings.TrimSpace(e.git("rev-parse", branch+"^")); p != head {
		t.Errorf("the branch's parent is %s, want the launch commit %s", p, head)
	}
	got := e.git("diff", "--name-status", "--no-renames", head, branch)
	if want := "M\ta.txt\nM\tblob.bin\nA\tlink\nA\tnew.txt\nM\trun.sh\nD\tsub/d.txt\n"; got != want {
		t.Errorf("the branch holds\n%s\nwant\n%s", got, want)
	}
	if b := e.git("show", branch+":b.txt"); b != "bee\n" {
		t.Errorf("b.txt on the branch = %q: the uncommitted host change came along", b)
	}
	if tree := e.git("ls-tree", "-r", branch); !strings.Contains(tree, "100755 blob") || !strings.Contains(tree, "120000 blob") ||
		strings.Contains(tree, "post-checkout") {
		t.Errorf("branch tree:\n%s", tree)
	}
	if _, err := os.Stat(filepath.Join(e.dir, "project/.git/hooks/post-checkout")); err == nil {
		t.Error("the agent's hook reached the user's .git")
	}
	if len(e.stateDirs()) != 0 {
		t.Errorf("state left after a successful export: %v", e.stateDirs())
	}
}

// TestCopyModeWorkOutsideGitComesOutAsAPatch: an attached copy-mode
// bottle outside git ends with a patch under $BOTTLE_HOME/results that git
// apply turns the launch folder into the agent's workspace with.
func TestCopyModeWorkOutsideGitComesOutAsAPatch(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	e.workProject(false)
	launch := filepath.Join(t.TempDir(), "launch")
	if out, err := exec.Command("cp", "-a", filepath.Join(e.dir, "project"), launch).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v\n%s", err, out)
	}
	r := e.mustRun("apply", "--auto-approve")
	id := identities(r.stderr)[0]
	patch := filepath.Join(e.home, "results", id+".patch")
	contains(t, "apply", r.stderr, "6 changed files are in "+patch)
	contains(t, "ls --results", e.mustRun("ls", "--results").stdout, id)
	c := exec.Command("git", "apply", patch)
	c.Dir = launch
	if out, err := c.CombinedOutput(); err != nil {
		t.Fatalf("git apply: %v\n%s", err, out)
	}
	for name, want := range map[string]string{"a.txt": "one\n2\nthree\n", "new.txt": "fresh\n", "blob.bin": "\x00\x09\x02"} {
		if b, _ := os.ReadFile(filepath.Join(launch, name)); string(b) != want {
			t.Errorf("%s after git apply = %q, want %q", name, b, want)
		}
	}
	if l, _ := os.Readlink(filepath.Join(launch, "link")); l != "a.txt" {
		t.Errorf("link after git apply -> %q", l)
	}
	if fi, err := os.Stat(filepath.Join(launch, "run.sh")); err != nil || fi.Mode()&0o100 == 0 {
		t.Errorf("run.sh after git apply: %v %v", fi, err)
	}
	if _, err := os.Stat(filepath.Join(launch, "sub/d.txt")); err == nil {
		t.Error("sub/d.txt survived git apply")
	}

	// The folder is unchanged: the next bottle starts from the cwd image,
	// and its changes come from the engine's diff of the container, not a
	// copy of the whole workspace. The patch is the same.
	first, err := os.ReadFile(patch)
	if err != nil {
		t.Fatal(err)
	}
	r2 := e.mustRun("apply", "--auto-approve")
	contains(t, "second apply", r2.stderr, unchangedLine)
	second, err := os.ReadFile(filepath.Join(e.home, "results", identities(r2.stderr)[0]+".patch"))
	if err != nil || string(second) != string(first) {
		t.Errorf("the patch of a launch from the cwd image differs (%v):\n%s\nwant:\n%s", err, second, first)
	}
}
