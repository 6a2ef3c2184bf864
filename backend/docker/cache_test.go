package docker

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"

	"github.com/bottle-dev/bottle/backend"
)

// containersCreated counts the containers the engine created between since
// and now from one of the images in chain. The legacy builder creates its
// step containers from the previous layer's image ID, so counting only those
// keeps containers that other tests create meanwhile out of the count.
func containersCreated(t *testing.T, since time.Time, chain map[string]bool) int {
	t.Helper()
	c, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	until := time.Now().Add(time.Second)
	msgs, errs := c.Events(t.Context(), events.ListOptions{
		Since:   since.Format(time.RFC3339Nano),
		Until:   until.Format(time.RFC3339Nano),
		Filters: filters.NewArgs(filters.Arg("type", "container"), filters.Arg("event", "create")),
	})
	n := 0
	for {
		select {
		case m := <-msgs:
			if chain[m.Actor.Attributes["image"]] {
				n++
			}
		case err := <-errs:
			if err != nil && !errors.Is(err, io.EOF) {
				t.Fatalf("events: %v", err)
			}
			return n
		}
	}
}

// layerChain is the set of image IDs ref was built from, itself included.
func layerChain(t *testing.T, ref string) map[string]bool {
	t.Helper()
	c, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	hist, err := c.ImageHistory(t.Context(), ref)
	if err != nil {
		t.Fatal(err)
	}
	chain := map[string]bool{}
	for _, h := range hist {
		if strings.HasPrefix(h.ID, "sha256:") {
			chain[h.ID] = true
		}
	}
	return chain
}

// TestBuildOnlyWhatTheDockerfileReads: an agent Dockerfile that COPYs one
// script, next to a folder that changes between launches (a bind-mounted
// cwd), is built once; a change the layers do not see (a comment) gives a
// new tag from a build that is cached to the end and runs no container.
func TestBuildOnlyWhatTheDockerfileReads(t *testing.T) {
	b := engine(t)
	dir := t.TempDir()
	df := filepath.Join(dir, "Dockerfile")
	writeDockerfile(t, df, "COPY run.sh /usr/local/bin/")
	for name, data := range map[string]string{"run.sh": "#!/bin/sh\necho hi\n", "work/notes.txt": "0"} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	img := backend.Image{Dockerfile: df, Context: dir, Labels: map[string]string{runLabel: runID}}
	var refs []string
	var first time.Time
	for i := range 3 {
		if err := os.WriteFile(filepath.Join(dir, "work", "notes.txt"), []byte{byte('a' + i)}, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "work", "new"+string(rune('a'+i))), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = time.Now()
		}
		ref, err := b.EnsureImage(t.Context(), img, backend.ProgressFunc(func(string) {}))
		if err != nil {
			t.Fatal(err)
		}
		refs = append(refs, ref)
	}
	for _, r := range refs[1:] {
		if r != refs[0] {
			t.Fatalf("three launches gave the images %q, want one", refs)
		}
	}
	imgs, err := b.c.ImageList(t.Context(), image.ListOptions{Filters: filters.NewArgs(filters.Arg("reference", refs[0]))})
	if err != nil || len(imgs) != 1 {
		t.Fatalf("image %s: %d listed, %v", refs[0], len(imgs), err)
	}
	built := imgs[0].ID
	chain := layerChain(t, refs[0])
	if n := containersCreated(t, first, chain); n == 0 {
		t.Fatal("the first, uncached build created no container: the event check sees nothing")
	}

	// A comment changes the content hash and so the tag, and no layer.
	data, err := os.ReadFile(df)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(df, append(data, "# a comment\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	cached := time.Now()
	ref, err := b.EnsureImage(t.Context(), img, nil)
	if err != nil {
		t.Fatal(err)
	}
	if ref == refs[0] {
		t.Fatalf("a changed Dockerfile kept the tag %s", ref)
	}
	if n := containersCreated(t, cached, chain); n != 0 {
		t.Errorf("a build cached to the end created %d containers, want none", n)
	}
	info, err := b.c.ImageInspect(t.Context(), ref)
	if err != nil {
		t.Fatal(err)
	}
	if info.ID != built {
		t.Errorf("the cached build made image %s, want the first build's %s", info.ID, built)
	}
}
