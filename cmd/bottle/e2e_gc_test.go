package main

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bottle-dev/bottle/backend"
)

const builtAgent = `
agent "box" {
  dockerfile = "agent/Dockerfile"
  command    = ["sleep", "600"]
}

bottle "img" {
  agent   = agent.box
  backend = "docker"
}
`

// launchDetached applies detached and returns the identity and the image
// its bottle runs on.
func (e *e2e) launchDetached() (id, image string) {
	e.t.Helper()
	r := e.mustRun("apply", "--auto-approve", "--detach")
	ids := identities(r.stderr)
	if len(ids) != 1 {
		e.t.Fatalf("identities %v\n%s", ids, r.stderr)
	}
	inst, err := e.be.Inspect(e.t.Context(), backend.InstanceName(ids[0]))
	if err != nil {
		e.t.Fatal(err)
	}
	return ids[0], inst.Image
}

// imageTags lists every tag of the managed images.
func (e *e2e) imageTags() []string {
	e.t.Helper()
	imgs, err := e.be.Images(e.t.Context())
	if err != nil {
		e.t.Fatal(err)
	}
	var tags []string
	for _, im := range imgs {
		tags = append(tags, im.Tags...)
	}
	return tags
}

// removeAgentImages removes the test's agent images, whatever happened.
func (e *e2e) removeAgentImages() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	imgs, _ := e.be.Images(ctx)
	for _, im := range imgs {
		if strings.HasPrefix(im.Labels[backend.LabelDockerfile], e.dir) {
			_ = e.be.RemoveResource(ctx, backend.Resource{Kind: "image", ID: im.ID})
		}
	}
}

// TestGCDropsSupersededAgentImages: an agent image a newer build of its
// Dockerfile supersedes stays while a bottle runs on it, is listed by gc
// --dry-run once none does, and removed by gc; a launch that builds removes
// the superseded builds nothing uses by itself.
func TestGCDropsSupersededAgentImages(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	t.Cleanup(e.removeAgentImages)
	e.write("bottle.hcl", builtAgent)
	e.write("agent/Dockerfile", "FROM busybox:latest\nCOPY run.sh /run.sh\n")
	version := func(v string) { e.write("agent/run.sh", "#!/bin/sh\necho "+v+"\n") }
	version("1")
	id1, v1 := e.launchDetached()
	version("2")
	id2, v2 := e.launchDetached()
	if v1 == v2 || !strings.HasPrefix(v1, "bottle-agent:") {
		t.Fatalf("images %q and %q: want two agent builds", v1, v2)
	}
	if tags := e.imageTags(); !slices.Contains(tags, v1) {
		t.Fatalf("the build of v2 removed %s, which a bottle runs on", v1)
	}
	e.mustRun("stop", id1)
	dry := e.mustRun("gc", "--dry-run")
	contains(t, "gc --dry-run", dry.stdout, "would remove docker image "+v1+" (superseded)")
	if strings.Contains(dry.stdout, v2) {
		t.Errorf("gc --dry-run lists %s, the newest build:\n%s", v2, dry.stdout)
	}
	if tags := e.imageTags(); !slices.Contains(tags, v1) {
		t.Fatalf("gc --dry-run removed %s", v1)
	}
	gc := e.mustRun("gc")
	contains(t, "gc", gc.stdout, "removed docker image "+v1)
	if tags := e.imageTags(); slices.Contains(tags, v1) || !slices.Contains(tags, v2) {
		t.Fatalf("after gc: %q; want %s gone and %s kept", tags, v1, v2)
	}

	// The launch's own check: v2 goes as soon as v3 is built and v2 is
	// unused.
	e.mustRun("stop", id2)
	version("3")
	id3, v3 := e.launchDetached()
	if tags := e.imageTags(); slices.Contains(tags, v2) || !slices.Contains(tags, v3) {
		t.Errorf("after a launch built %s: %q; want %s gone", v3, tags, v2)
	}
	e.mustRun("stop", id3)
}

// TestGCOrphans: what a BOTTLE_HOME that is gone left (a running bottle,
// its network) is listed by gc --orphans --dry-run from another home and
// removed by gc --orphans; plain gc leaves it.
func TestGCOrphans(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	e.write("bottle.hcl", busyboxAgent)
	r := e.mustRun("apply", "--auto-approve", "--detach", "--var", "script=sleep 600")
	ids := identities(r.stderr)
	if len(ids) != 1 {
		t.Fatalf("identities %v", ids)
	}
	id := ids[0]
	t.Cleanup(func() { _ = e.be.Remove(context.Background(), backend.InstanceName(id)) })
	if err := os.RemoveAll(e.home); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(t.TempDir(), "other-home")
	e.env = append(e.env, "BOTTLE_HOME="+other)

	if out := e.mustRun("gc").stdout; strings.Contains(out, id) {
		t.Errorf("plain gc touched another home's bottle:\n%s", out)
	}
	dry := e.mustRun("gc", "--orphans", "--dry-run")
	contains(t, "gc --orphans --dry-run", dry.stdout, "would remove docker bottle-"+id, "would remove docker network bottle-"+id)
	if left := e.leftovers(id); len(left) != 2 {
		t.Fatalf("after the dry run: %v, want the instance and its network", left)
	}
	e.mustRun("gc", "--orphans")
	if left := e.leftovers(id); len(left) != 0 {
		t.Errorf("after gc --orphans: %v left", left)
	}
}
