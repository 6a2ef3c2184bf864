package main

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"

	"github.com/bottle-dev/bottle/backend"
	"github.com/bottle-dev/bottle/runner/state"
)

const cwdAgent = `
agent "box" {
  image   = "busybox:latest"
  command = ["sh", "-c", <<-EOT
    cd /workspace
    echo "a=$(cat a.txt)"
    echo "x=$(stat -c '%a %Y' bin/x.sh)"
    echo "link=$(readlink link)"
    ls -A
  EOT
  ]
}

bottle "cwd" {
  agent = agent.box
  cwd {
    path    = "project"
    copy    = true
    target  = "/workspace"
    exclude = ["skip"]
  }
}
`

const (
	cachedLine    = " as bottle-cwd:"
	unchangedLine = "is unchanged since it was copied"
)

// TestUnchangedCwdIsCopiedOnce: the first launch of a folder in copy mode
// copies it into its bottle and caches it as a bottle-cwd image; later
// launches of the unchanged folder start from that image without copying;
// a change copies again and the image it replaces goes; bottles launched
// together wait for the one that caches it. Modes, mtimes and symlinks come
// through the image, excludes stay out.
func TestUnchangedCwdIsCopiedOnce(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	e.write("bottle.hcl", cwdAgent)
	e.write("project/a.txt", "one")
	e.write("project/bin/x.sh", "#!/bin/sh\n")
	e.write("project/skip/secret", "no")
	old := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	script := filepath.Join(e.dir, "project/bin/x.sh")
	if err := os.Chmod(script, 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(script, old, old); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("a.txt", filepath.Join(e.dir, "project/link")); err != nil {
		t.Fatal(err)
	}

	check := func(r result, a string, copied bool) {
		t.Helper()
		contains(t, "stdout", r.stdout, "a="+a, "x=750 "+strconv.FormatInt(old.Unix(), 10), "link=a.txt")
		if strings.Contains(r.stdout, "skip") {
			t.Errorf("an excluded folder was copied:\n%s", r.stdout)
		}
		if got := strings.Contains(r.stderr, "cached ") && strings.Contains(r.stderr, cachedLine); got != copied {
			t.Errorf("copied and cached the cwd = %v, want %v:\n%s", got, copied, r.stderr)
		}
		if got := strings.Contains(r.stderr, unchangedLine); got == copied {
			t.Errorf("reused the cwd image = %v, want %v:\n%s", got, !copied, r.stderr)
		}
	}
	check(e.mustRun("apply", "--auto-approve"), "one", true)
	check(e.mustRun("apply", "--auto-approve"), "one", false)
	first := cwdImages(t, e.home)
	if len(first) != 1 {
		t.Fatalf("cwd images after two launches: %v, want one", first)
	}

	e.write("project/a.txt", "two")
	check(e.mustRun("apply", "--auto-approve"), "two", true)
	second := cwdImages(t, e.home)
	if len(second) != 1 || second[0] == first[0] {
		t.Errorf("cwd images after a change: %v, want one, not %v", second, first)
	}

	// Launched together after another change: one copies and caches, the
	// others wait for its image and start from it.
	e.write("project/a.txt", "three")
	const n = 4
	results := make([]result, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { results[i] = e.run("apply", "--auto-approve") })
	}
	wg.Wait()
	copies := 0
	for i, r := range results {
		if r.code != 0 {
			t.Fatalf("apply %d: exit %d\n%s\n%s", i, r.code, r.stdout, r.stderr)
		}
		contains(t, "stdout", r.stdout, "a=three")
		switch {
		case strings.Contains(r.stderr, cachedLine):
			copies++
		case !strings.Contains(r.stderr, unchangedLine):
			t.Errorf("apply %d neither cached nor reused the cwd:\n%s", i, r.stderr)
		}
	}
	if copies != 1 {
		t.Errorf("%d of %d parallel launches copied the cwd, want 1", copies, n)
	}
	if dirs := e.stateDirs(); len(dirs) != 0 {
		t.Errorf("state dirs left: %v", dirs)
	}
}

// cwdFilter selects the bottle-cwd images of the BOTTLE_HOME home.
func cwdFilter(home string) filters.Args {
	return filters.NewArgs(filters.Arg("label", backend.LabelHome+"="+state.Home{Path: home}.ID()), filters.Arg("label", backend.LabelCwd))
}

// cwdImages lists the IDs of the bottle-cwd images of the BOTTLE_HOME home.
func cwdImages(t *testing.T, home string) []string {
	t.Helper()
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	imgs, err := cli.ImageList(t.Context(), image.ListOptions{Filters: cwdFilter(home)})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, im := range imgs {
		ids = append(ids, im.ID)
	}
	return ids
}

// removeCwdImages removes the cwd images a test's home made: a cache the
// engine would keep after the test (e2e.sweep).
func removeCwdImages(ctx context.Context, home string) {
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return
	}
	defer cli.Close()
	imgs, err := cli.ImageList(ctx, image.ListOptions{Filters: cwdFilter(home)})
	if err != nil {
		return
	}
	for _, im := range imgs {
		_, _ = cli.ImageRemove(ctx, im.ID, image.RemoveOptions{Force: true, PruneChildren: true})
	}
}

// TestGCLeavesAFillingCwdImageAlone: the scratch container a launch copies
// the cwd into is left alone by bottle gc while the launch holds its cache
// lock, and removed once nothing does (a launch killed mid-copy).
func TestGCLeavesAFillingCwdImageAlone(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	e.write("bottle.hcl", cwdAgent)
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	home := state.Home{Path: e.home}
	key := "0123456789abcdef"
	holder, err := cli.ContainerCreate(t.Context(), &container.Config{
		Image: "busybox:latest", Cmd: []string{"true"},
		Labels: map[string]string{backend.LabelManaged: "true", backend.LabelHome: home.ID(), backend.LabelCwd: "f", backend.LabelCwdKey: key},
	}, &container.HostConfig{NetworkMode: "none"}, nil, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cli.ContainerRemove(context.Background(), holder.ID, container.RemoveOptions{Force: true}) })
	exists := func() bool {
		_, err := cli.ContainerInspect(t.Context(), holder.ID)
		return err == nil
	}

	lock, err := home.TryLockCache("cwd-" + key)
	if err != nil {
		t.Fatal(err)
	}
	e.mustRun("gc")
	if !exists() {
		t.Fatal("gc removed the scratch container of a cwd image being made")
	}
	if err := lock.Unlock(); err != nil {
		t.Fatal(err)
	}
	e.mustRun("gc")
	if exists() {
		t.Error("gc left the scratch container of a cwd image nobody makes")
	}
}
