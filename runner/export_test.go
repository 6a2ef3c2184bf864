package runner_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bottle-dev/bottle/backend"
	"github.com/bottle-dev/bottle/backend/fake"
	"github.com/bottle-dev/bottle/runner"
	"github.com/bottle-dev/bottle/runner/state"
)

// editAgent changes its workspace the way the export tests expect.
func editAgent() fake.Agent {
	return func(ctx context.Context, in *fake.Instance, io backend.IO) int {
		_ = in.WriteFile("/workspace/main.go", []byte("package main\n\nfunc main() {}\n"), 0o644)
		_ = in.WriteFile("/workspace/added.txt", []byte("new\n"), 0o644)
		_ = in.RemoveAll("/workspace/sub/data.txt")
		return 0
	}
}

func run(t *testing.T, dir string, argv ...string) string {
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

func TestSessionEndExportsAPatchOutsideGit(t *testing.T) {
	e := newEnv(t, copyHCL(""))
	e.project()
	launch := filepath.Join(t.TempDir(), "launch")
	run(t, ".", "cp", "-a", e.dir, launch)
	e.docker.SetAgent(baseImage, editAgent())
	res, err := e.r.Apply(t.Context(), e.launchOpts("b"))
	if err != nil {
		t.Fatal(err)
	}
	patch := filepath.Join(e.home.ResultsDir(), res.Identity+".patch")
	if msgs := e.events.of("exported", res.Identity); len(msgs) != 1 || !strings.Contains(msgs[0], patch) {
		t.Errorf("exported events %q, want one naming %s", msgs, patch)
	}
	if d, _ := e.home.Dir(res.Identity); d.Exists() {
		t.Error("the state dir outlived a successful export")
	}
	run(t, launch, "git", "apply", patch)
	if b, _ := os.ReadFile(filepath.Join(launch, "main.go")); string(b) != "package main\n\nfunc main() {}\n" {
		t.Errorf("main.go after git apply: %q", b)
	}
	if _, err := os.Stat(filepath.Join(launch, "sub/data.txt")); err == nil {
		t.Error("the deleted file is still there after git apply")
	}
	if b, _ := os.ReadFile(filepath.Join(launch, "added.txt")); string(b) != "new\n" {
		t.Errorf("added.txt after git apply: %q", b)
	}
}

func TestSessionEndExportsABranchInGit(t *testing.T) {
	e := newEnv(t, copyHCL(""))
	e.project()
	run(t, e.dir, "git", "init", "-q", "-b", "main")
	run(t, e.dir, "git", "add", "-A")
	run(t, e.dir, "git", "commit", "-q", "-m", "start")
	head := strings.TrimSpace(run(t, e.dir, "git", "rev-parse", "HEAD"))
	e.docker.SetAgent(baseImage, editAgent())
	res, err := e.r.Apply(t.Context(), e.launchOpts("b"))
	if err != nil {
		t.Fatal(err)
	}
	branch := "bottle/" + res.Identity
	got := run(t, e.dir, "git", "diff", "--name-status", head+"..."+branch)
	if got != "A\tadded.txt\nM\tmain.go\nD\tsub/data.txt\n" {
		t.Errorf("branch changes:\n%s", got)
	}
	if msgs := e.events.of("exported", res.Identity); len(msgs) != 1 || !strings.Contains(msgs[0], "diff HEAD..."+branch) {
		t.Errorf("exported events %q", msgs)
	}
	if st := run(t, e.dir, "git", "status", "--porcelain"); st != "" {
		t.Errorf("the checkout is not clean after the export:\n%s", st)
	}
}

func TestExportFailureKeepsTheState(t *testing.T) {
	e := newEnv(t, copyHCL(""))
	e.project()
	// A file where the results folder goes: the patch cannot be written.
	writeFile(t, e.home.ResultsDir(), "in the way\n")
	e.docker.SetAgent(baseImage, editAgent())
	res, err := e.r.Apply(t.Context(), e.launchOpts("b"))
	if err == nil || !strings.Contains(err.Error(), "export the workspace of") {
		t.Fatalf("Apply = %v, want the export failure", err)
	}
	d, _ := e.home.Dir(res.Identity)
	if !d.Exists() || !d.IsPreserved() || !d.HasSnapshot(state.WorkspaceDir) {
		t.Fatalf("the state dir is not kept with its workspace: exists %v preserved %v", d.Exists(), d.IsPreserved())
	}
	if b, _ := os.ReadFile(d.Join(state.WorkspaceDir, "added.txt")); string(b) != "new\n" {
		t.Errorf("the kept workspace lacks the agent's file: %q", b)
	}
	audit, _ := os.ReadFile(d.Join(state.AuditFile))
	if !strings.Contains(string(audit), "export_failed") {
		t.Errorf("no export_failed in the audit log:\n%s", audit)
	}
	// Once the cause is gone, export works from the kept workspace.
	if err := os.Remove(e.home.ResultsDir()); err != nil {
		t.Fatal(err)
	}
	out, err := e.r.Export(t.Context(), res.Identity, runner.ExportOptions{})
	if err != nil || out.Kind != "patch" || out.Changes != 3 {
		t.Fatalf("Export = %+v, %v", out, err)
	}
}

func TestKeepNoneExportsNothing(t *testing.T) {
	e := newEnv(t, strings.Replace(copyHCL(""), `exclude = ["node_modules"]`, `exclude = ["node_modules"]
    keep    = "none"`, 1))
	e.project()
	e.docker.SetAgent(baseImage, editAgent())
	res, err := e.r.Apply(t.Context(), e.launchOpts("b"))
	if err != nil {
		t.Fatal(err)
	}
	if msgs := e.events.of("exported", res.Identity); len(msgs) != 0 {
		t.Errorf("keep = none exported: %q", msgs)
	}
	if _, err := os.Stat(filepath.Join(e.home.ResultsDir(), res.Identity+".patch")); err == nil {
		t.Error("keep = none wrote a patch")
	}
}

// TestApprovalDoesNotExportTheResumeDoes: the teardown of an approval
// keeps the workspace for the resume rather than exporting it; the session
// that finally ends exports all of the agent's work, from before the
// approval and after.
func TestApprovalDoesNotExportTheResumeDoes(t *testing.T) {
	e := newEnv(t, copyHCL(""))
	e.project()
	block := blockingAgent("req-1")
	e.docker.SetAgent(baseImage, func(ctx context.Context, in *fake.Instance, io backend.IO) int {
		_ = in.WriteFile("/workspace/before.txt", []byte("before\n"), 0o644)
		return block(ctx, in, io)
	})
	ch := e.applyAsync("b")
	id := e.onlyIdentity()
	e.pending(id, 1)
	if _, err := e.r.Approve(t.Context(), id, "req-1", runner.ApproveOptions{}); err != nil {
		t.Fatal(err)
	}
	if r := wait(t, ch); r.err != nil || !r.res.Preserved {
		t.Fatalf("the approved session ended %+v, %v", r.res, r.err)
	}
	patch := filepath.Join(e.home.ResultsDir(), id+".patch")
	if _, err := os.Stat(patch); err == nil || len(e.events.of("exported", id)) != 0 {
		t.Fatal("an approval's teardown exported the workspace")
	}
	e.docker.SetAgent("bottle/"+id, func(ctx context.Context, in *fake.Instance, io backend.IO) int {
		_ = in.WriteFile("/workspace/after.txt", []byte("after\n"), 0o644)
		return 0
	})
	if _, err := e.r.Resume(t.Context(), id, runner.ResumeOptions{}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(patch)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"+++ b/before.txt", "+++ b/after.txt"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("the final export lacks %s:\n%s", want, b)
		}
	}
}
