package main

import (
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bottle-dev/bottle/backend/backendtest"
	"github.com/bottle-dev/bottle/runner/state"
)

const exportHCL = `
agent "box" {
  image   = "busybox:latest"
  command = ["sleep", "600"]
}

bottle "export" {
  agent = agent.box
  cwd {
    path   = "tree"
    copy   = true
    target  = "/workspace"
    keep    = "none"
    exclude = [".git"]
  }
}
`

// exportChanged is how many files the agent changes in BenchmarkExport.
const exportChanged = 10

// BenchmarkExport is issue 12's export benchmark: a 20,000-file, 200 MiB
// git work tree copied into a bottle, 10 files of it changed by the agent
// (docker exec, untimed), then, each timed as its own CLI process:
//
//   - export-patch: bottle export --patch, the bottle started from its cwd
//     image (the engine's diff names the changed files);
//   - export-branch: bottle export --branch, the same, committed with git
//     plumbing;
//   - export-full: bottle export --patch of the same bottle made to read its
//     whole workspace (as a bottle whose cwd was copied in at launch does);
//   - docker-cp: 10 docker cp, one per changed file (knowing which), the
//     baseline.
func BenchmarkExport(b *testing.B) {
	bn := newBench(b)
	dir := b.TempDir()
	tree := filepath.Join(dir, "tree")
	if err := backendtest.GenerateTree(tree, copyFiles, copyBytes); err != nil {
		b.Fatal(err)
	}
	var files []string
	_ = filepath.WalkDir(tree, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			rel, _ := filepath.Rel(tree, p)
			files = append(files, filepath.ToSlash(rel))
		}
		return nil
	})
	var changed []string
	for k := range exportChanged {
		changed = append(changed, files[k*len(files)/exportChanged])
	}
	for _, args := range [][]string{{"init", "-q", "-b", "main"}, {"config", "gc.auto", "0"}, {"add", "-A"}, {"commit", "-q", "-m", "tree"}} {
		c := exec.Command("git", args...)
		c.Dir = tree
		c.Env = append(os.Environ(), "GIT_AUTHOR_NAME=b", "GIT_AUTHOR_EMAIL=b@b", "GIT_COMMITTER_NAME=b", "GIT_COMMITTER_EMAIL=b@b")
		if out, err := c.CombinedOutput(); err != nil {
			b.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	benchWrite(b, dir, "bottle.hcl", exportHCL)
	// The first launch copies the tree and caches it as a cwd image; the
	// measured ones start from that image.
	_, id, _ := bn.launch(dir)
	bn.stop(dir, id)

	out := b.TempDir()
	n := 0
	arms := []func(id string) time.Duration{
		func(id string) time.Duration { // export-patch
			n++
			d, _, _ := bn.bottle(dir, "export", id, "--patch", filepath.Join(out, fmt.Sprintf("%d.patch", n)))
			return d
		},
		func(id string) time.Duration { // docker cp of the changed files
			n++
			dst := filepath.Join(out, fmt.Sprint(n))
			if err := os.Mkdir(dst, 0o755); err != nil {
				b.Fatal(err)
			}
			var total time.Duration
			for k, f := range changed {
				d, _ := bn.docker("cp", "bottle-"+id+":/workspace/"+f, filepath.Join(dst, fmt.Sprint(k)))
				total += d
			}
			return total
		},
		func(id string) time.Duration { // export-branch
			n++
			d, _, _ := bn.bottle(dir, "export", id, "--branch", fmt.Sprintf("bench/%s-%d", id, n))
			return d
		},
		func(id string) time.Duration { // export-full: no engine diff
			n++
			marker := filepath.Join(bn.home, "state", id, state.InImageFile)
			if err := os.Remove(marker); err != nil {
				b.Fatal(err)
			}
			d, _, _ := bn.bottle(dir, "export", id, "--patch", filepath.Join(out, fmt.Sprintf("%d.patch", n)))
			if err := os.WriteFile(marker, nil, 0o600); err != nil {
				b.Fatal(err)
			}
			return d
		},
	}
	got := make([]samples, len(arms))
	i := 0
	for b.Loop() {
		b.StopTimer()
		_, id, stderr := bn.launch(dir)
		if !strings.Contains(stderr, "is unchanged since it was copied") {
			b.Fatalf("the bottle did not start from the cwd image:\n%s", stderr)
		}
		bn.docker(append([]string{"exec", "bottle-" + id, "sh", "-c", `cd /workspace && for f in "$@"; do echo changed >> "$f"; done`, "sh"}, changed...)...)
		b.StartTimer()
		for _, k := range order(i, len(arms)) {
			got[k] = append(got[k], arms[k](id))
		}
		b.StopTimer()
		if i == 0 {
			_, stat, _ := bn.bottle(dir, "diff", id, "--stat")
			if !strings.Contains(stat, fmt.Sprintf("%d files changed", exportChanged)) {
				b.Fatalf("diff --stat:\n%s", stat)
			}
		}
		bn.stop(dir, id)
		b.StartTimer()
		i++
	}
	report(b, []string{"export-patch", "docker-cp-10", "export-branch", "export-full"}, got)
	b.ReportMetric(ratioOf(got[2], got[1]), "ratio-branch")
	b.ReportMetric(ratioOf(got[3], got[1]), "ratio-full")
	b.Logf("export --patch / 10 docker cp: %.3f; --branch: %.3f; whole workspace read: %.3f",
		ratioOf(got[0], got[1]), ratioOf(got[2], got[1]), ratioOf(got[3], got[1]))
}
