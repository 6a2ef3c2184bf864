package docker

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bottle-dev/bottle/backend"
)

// writeDockerfile writes a Dockerfile labelled for the sweep, with a nonce
// so that every run really builds.
func writeDockerfile(t *testing.T, path string, lines ...string) {
	t.Helper()
	s := fmt.Sprintf("FROM %s\nLABEL %s=%q dev.bottle.test-nonce=\"%d\"\n", testImage(), runLabel, runID, time.Now().UnixNano())
	for _, l := range lines {
		s += l + "\n"
	}
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

// runIn runs argv in a fresh bottle of image ref and returns its output.
func runIn(t *testing.T, b *Backend, ref string, argv ...string) string {
	t.Helper()
	spec := newSpec(argv...)
	spec.Image = ref
	inst := create(t, b, spec)
	var out bytes.Buffer
	code, err := b.Run(t.Context(), inst.ID, backend.IO{Stdout: &out, Stderr: &out})
	if err != nil || code != 0 {
		t.Fatalf("%v in %s: exit %d, %v: %s", argv, ref, code, err, out.String())
	}
	return out.String()
}

// TestBuildDockerfileIgnored: a Dockerfile inside its context that
// .dockerignore excludes still builds, and neither it nor our copy of it
// reaches the image, as with `docker build`.
func TestBuildDockerfileIgnored(t *testing.T) {
	b := engine(t)
	dir := t.TempDir()
	writeDockerfile(t, filepath.Join(dir, "Dockerfile"), "COPY . /ctx/")
	for name, data := range map[string]string{"a.txt": "a", ".dockerignore": "Dockerfile\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ref, err := b.EnsureImage(t.Context(), backend.Image{Dockerfile: filepath.Join(dir, "Dockerfile"), Context: dir}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// .dockerignore does not exclude itself here, so like `docker build`
	// the image gets it.
	if got := runIn(t, b, ref, "ls", "-A", "/ctx"); got != ".dockerignore\na.txt\n" {
		t.Errorf("/ctx holds %q", got)
	}
}

// TestPerBottleRebuildDropsOld: when a per-bottle tag moves to a new build,
// the image it held is removed instead of piling up.
func TestPerBottleRebuildDropsOld(t *testing.T) {
	b := engine(t)
	identity := newSpec().Identity
	t.Cleanup(func() { dropIdentity(b, identity) })
	dir := t.TempDir()
	df := filepath.Join(dir, "Dockerfile")
	img := backend.Image{Dockerfile: df, Context: dir, Tag: "bottle/" + identity + ":latest"}
	writeDockerfile(t, df, "RUN echo v1 > /version")
	if _, err := b.EnsureImage(t.Context(), img, nil); err != nil {
		t.Fatal(err)
	}
	old, err := b.c.ImageInspect(t.Context(), img.Tag)
	if err != nil {
		t.Fatal(err)
	}
	if old.Config.Labels[backend.LabelIdentity] != identity {
		t.Errorf("per-bottle image labels %v, want the identity", old.Config.Labels)
	}
	writeDockerfile(t, df, "RUN echo v2 > /version")
	if _, err := b.EnsureImage(t.Context(), img, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := b.c.ImageInspect(t.Context(), old.ID); !isNotFound(err) {
		t.Errorf("the replaced image %s is still there (%v)", old.ID, err)
	}
	if got := runIn(t, b, img.Tag, "cat", "/version"); got != "v2\n" {
		t.Errorf("/version = %q", got)
	}
}

// TestPerBottleInheritsLabels: a per-bottle Dockerfile FROM an image that
// already has the identity's labels (approve's labelled base) builds only
// its own steps and still carries the labels; from a base without them, the
// build adds them as one step.
func TestPerBottleInheritsLabels(t *testing.T) {
	b := engine(t)
	identity := newSpec().Identity
	t.Cleanup(func() { dropIdentity(b, identity) })
	dir := t.TempDir()
	df := filepath.Join(dir, "Dockerfile")
	home := map[string]string{backend.LabelHome: "home-" + identity}
	writeDockerfile(t, df)
	base, err := b.EnsureImage(t.Context(), backend.Image{Dockerfile: df, Context: dir, Tag: "bottle/" + identity + ":base", Labels: home}, nil)
	if err != nil {
		t.Fatal(err)
	}
	build := func(labels map[string]string) []string {
		t.Helper()
		if err := os.WriteFile(df, []byte("FROM "+base+"\nRUN echo "+identity+" > /x\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		var steps []string
		p := backend.ProgressFunc(func(line string) { steps = append(steps, line) })
		img := backend.Image{Dockerfile: df, Context: dir, Tag: "bottle/" + identity, Labels: labels}
		if _, err := b.EnsureImage(t.Context(), img, p); err != nil {
			t.Fatal(err)
		}
		info, err := b.c.ImageInspect(t.Context(), img.Tag)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range labels {
			if info.Config.Labels[k] != v {
				t.Errorf("label %s = %q, want %q", k, info.Config.Labels[k], v)
			}
		}
		if info.Config.Labels[backend.LabelIdentity] != identity || info.Config.Labels[backend.LabelManaged] != "true" {
			t.Errorf("per-bottle image labels %v, want the identity's", info.Config.Labels)
		}
		if got := runIn(t, b, img.Tag, "cat", "/x"); got != identity+"\n" {
			t.Errorf("/x = %q", got)
		}
		return steps
	}
	for _, line := range build(home) {
		if strings.Contains(line, "LABEL") {
			t.Errorf("a build FROM the labelled base ran a label step: %q", line)
		}
	}
	other := map[string]string{backend.LabelHome: "other-" + identity}
	if steps := strings.Join(build(other), "\n"); !strings.Contains(steps, "LABEL") {
		t.Errorf("a build whose base lacks its labels ran no label step:\n%s", steps)
	}
}

// dropIdentity removes the images and networks of identity, children before
// the base images they hold.
func dropIdentity(b *Backend, identity string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for range 2 {
		left, _ := b.Leftovers(ctx)
		for _, r := range left {
			if r.Identity == identity {
				_ = b.RemoveResource(ctx, r)
			}
		}
	}
}
