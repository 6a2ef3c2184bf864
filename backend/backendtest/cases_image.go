package backendtest

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/bottle-dev/bottle/backend"
)

func testImageRef(h *harness) {
	ref, err := h.b.EnsureImage(h.ctx, backend.Image{Ref: h.opts.Image}, nil)
	h.must(err, "EnsureImage of a local ref (nil Progress)")
	if ref != h.opts.Image {
		h.t.Errorf("EnsureImage(%q) = %q, want the ref itself", h.opts.Image, ref)
	}
}

// dockerfile is a Dockerfile on the suite's image carrying the run's
// labels (for TestMain's sweep) and a nonce, so each run builds afresh.
func (h *harness) dockerfile(lines ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "FROM %s\n", h.opts.Image)
	for _, k := range slices.Sorted(maps.Keys(h.opts.Labels)) {
		fmt.Fprintf(&b, "LABEL %q=%q\n", k, h.opts.Labels[k])
	}
	fmt.Fprintf(&b, "LABEL dev.bottle.test-nonce=%q\n", randomBase36(12))
	for _, l := range lines {
		b.WriteString(l + "\n")
	}
	return b.String()
}

func writeFile(h *harness, path, data string) {
	h.t.Helper()
	h.must(os.MkdirAll(filepath.Dir(path), 0o755), "mkdir")
	h.must(os.WriteFile(path, []byte(data), 0o644), "write "+path)
}

func testImageDockerfile(h *harness) {
	if h.opts.NoBuild {
		h.t.Skip("engine cannot build")
	}
	ctxDir, dfDir := h.t.TempDir(), h.t.TempDir()
	writeFile(h, filepath.Join(ctxDir, "hello.txt"), "hello\n")
	writeFile(h, filepath.Join(ctxDir, "secret.txt"), "secret\n")
	writeFile(h, filepath.Join(ctxDir, ".dockerignore"), "secret.txt\n.dockerignore\n")
	// The Dockerfile lives outside its context, as agents/x.Dockerfile
	// with context "." does.
	df := filepath.Join(dfDir, "agent.Dockerfile")
	writeFile(h, df, h.dockerfile("COPY . /ctx/", "RUN cat /ctx/hello.txt > /built.txt"))
	img := backend.Image{Dockerfile: df, Context: ctxDir}

	first := &recorder{}
	ref, err := h.b.EnsureImage(h.ctx, img, first)
	h.must(err, "EnsureImage (build)")
	if first.count() == 0 {
		h.t.Error("a build reported no progress")
	}
	again := &recorder{}
	ref2, err := h.b.EnsureImage(h.ctx, img, again)
	h.must(err, "EnsureImage (unchanged)")
	if ref2 != ref {
		h.t.Errorf("unchanged Dockerfile: ref %q, then %q", ref, ref2)
	}
	if again.count() != 0 {
		h.t.Errorf("unchanged Dockerfile was built again: %q", again.lines)
	}

	spec := h.spec("sh", "-c", "cat /built.txt; ls -A /ctx")
	spec.Image = ref
	inst := h.create(spec)
	code, out, errOut := h.run(inst.ID, "")
	// Neither the ignored file nor the generated Dockerfile reach the image.
	if code != 0 || out != "hello\nhello.txt\n" {
		h.t.Errorf("built image: exit %d, stdout %q (stderr %q); want 0, %q", code, out, errOut, "hello\nhello.txt\n")
	}
}

func testImagePerBottle(h *harness) {
	if h.opts.NoBuild {
		h.t.Skip("engine cannot build")
	}
	identity := h.identity()
	tag := "bottle/" + identity
	// Registered first, so it runs after the bottle's own removal.
	h.t.Cleanup(func() { h.removeLeftovers(identity) })
	dir := h.t.TempDir()
	df := filepath.Join(dir, "Dockerfile")
	const extra = "dev.bottle.test-image-label"
	img := backend.Image{Dockerfile: df, Context: dir, Tag: tag, Labels: map[string]string{extra: identity}}

	writeFile(h, df, h.dockerfile("RUN echo v1 > /version"))
	ref, err := h.b.EnsureImage(h.ctx, img, nil)
	h.must(err, "EnsureImage v1")
	if ref != tag {
		h.t.Errorf("EnsureImage with Tag %q = %q", tag, ref)
	}
	same := &recorder{}
	_, err = h.b.EnsureImage(h.ctx, img, same)
	h.must(err, "EnsureImage v1 again")
	if same.count() != 0 {
		h.t.Errorf("unchanged per-bottle Dockerfile was built again: %q", same.lines)
	}
	// An approval appends lines to the per-bottle Dockerfile: the existing
	// tag must not hide the change.
	writeFile(h, df, h.dockerfile("RUN echo v1 > /version", "RUN echo v2 > /version"))
	changed := &recorder{}
	_, err = h.b.EnsureImage(h.ctx, img, changed)
	h.must(err, "EnsureImage v2")
	if changed.count() == 0 {
		h.t.Error("changed per-bottle Dockerfile was not rebuilt")
	}
	spec := h.spec("cat", "/version")
	spec.Identity = identity
	spec.Image = ref
	inst := h.create(spec)
	if code, out, _ := h.run(inst.ID, ""); code != 0 || out != "v2\n" {
		h.t.Errorf("per-bottle image: exit %d, /version %q; want 0, v2", code, out)
	}
	if h.opts.NoImageLeftovers {
		return
	}
	left, err := h.b.Leftovers(h.ctx)
	h.must(err, "Leftovers")
	i := slices.IndexFunc(left, func(r backend.Resource) bool { return r.Kind == "image" && r.Identity == identity })
	if i < 0 {
		h.t.Fatalf("Leftovers has no image of %s: %+v", identity, left)
	}
	if got := left[i].Labels; got[extra] != identity || got[backend.LabelManaged] != "true" {
		h.t.Errorf("per-bottle image labels %v: want Image.Labels and the managed label", got)
	}
}

// removeLeftovers removes every leftover of identity, reporting failures.
func (h *harness) removeLeftovers(identity string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	left, err := h.b.Leftovers(ctx)
	if err != nil {
		h.t.Errorf("cleanup: Leftovers: %v", err)
		return
	}
	for _, r := range left {
		if r.Identity != identity {
			continue
		}
		if err := h.b.RemoveResource(ctx, r); err != nil {
			h.t.Errorf("cleanup: RemoveResource %+v: %v", r, err)
		}
	}
}
