package docker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"strings"

	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/api/types/image"

	"github.com/bottle-dev/bottle/backend"
	"github.com/bottle-dev/bottle/backend/buildctx"
)

// EnsureImage returns a local image reference for img. A Ref is used as is
// when present and pulled otherwise. A Dockerfile is built, tagged img.Tag
// or, when that is empty, buildctx.Tag of its content hash keyed with its
// labels; a tag that already holds an image of the same content is not
// rebuilt.
func (b *Backend) EnsureImage(ctx context.Context, img backend.Image, p backend.Progress) (string, error) {
	switch {
	case img.Ref != "" && img.Dockerfile != "":
		return "", errors.New("image: both a reference and a Dockerfile are set")
	case img.Ref != "":
		return img.Ref, b.ensureRef(ctx, img.Ref, p)
	case img.Dockerfile != "":
		return b.build(ctx, img, p)
	default:
		return "", errors.New("image: neither a reference nor a Dockerfile is set")
	}
}

func (b *Backend) ensureRef(ctx context.Context, ref string, p backend.Progress) error {
	_, err := b.c.ImageInspect(ctx, ref)
	if err == nil {
		return nil
	}
	if !isNotFound(err) {
		return wrap(err, "inspect image %s", ref)
	}
	progress(p, "Pulling "+ref)
	rc, err := b.c.ImagePull(ctx, ref, image.PullOptions{})
	if err != nil {
		return wrap(err, "pull image %s", ref)
	}
	// Read-only stream: a Close error loses nothing.
	defer rc.Close()
	if _, err := readStream(rc, p); err != nil {
		return fmt.Errorf("pull image %s: %w", ref, err)
	}
	return nil
}

func (b *Backend) build(ctx context.Context, img backend.Image, p backend.Progress) (string, error) {
	contextDir := img.Context
	if contextDir == "" {
		contextDir = filepath.Dir(img.Dockerfile)
	}
	hash, err := buildctx.Hash(img.Dockerfile, contextDir)
	if err != nil {
		return "", err
	}
	// A content tag names its content: the image under it needs no label
	// saying so. Keeping the hash out of the labels keeps the LABEL step
	// the same from one content to the next, so a build whose every layer
	// is cached (a comment changed) is a cache hit to the end and runs no
	// container.
	byContent := img.Tag == ""
	tag := img.Tag
	if byContent {
		tag = buildctx.Tag(buildctx.Keyed(hash, img.Labels))
	}
	info, err := b.c.ImageInspect(ctx, tag)
	switch {
	case err == nil && info.Config != nil && byContent && info.Config.Labels[backend.LabelManaged] == "true":
		return tag, nil // built before from the same content: no progress, no build
	case err == nil && info.Config != nil && info.Config.Labels[LabelContentHash] == hash:
		return tag, nil
	case err != nil && !isNotFound(err):
		return "", wrap(err, "inspect image %s", tag)
	}
	replaced := info.ID // "" when the tag is new

	labels := map[string]string{}
	maps.Copy(labels, img.Labels)
	labels[backend.LabelManaged] = "true"
	if !byContent {
		labels[LabelContentHash] = hash
	}
	if identity := tagIdentity(tag); identity != "" {
		labels[backend.LabelIdentity] = identity
	}
	if !byContent && b.inherits(ctx, img.Dockerfile, labels) {
		// The base already carries this image's labels (approve made a
		// labelled base for the identity): the image inherits them, and
		// the build runs only the Dockerfile's own steps. Without a
		// content-hash label the tag is rebuilt every time, from the
		// builder's cache when the Dockerfile did not change.
		labels = nil
	}
	// The context is streamed as the request body while it is being
	// archived, never held in memory or in a temp file.
	pr, pw := io.Pipe()
	archived := make(chan error, 1)
	go func() {
		// The labels travel as one LABEL line of the Dockerfile rather than
		// as build options: the legacy builder makes each option a step.
		err := buildctx.ContextWithLabels(ctx, img.Dockerfile, contextDir, labels, pw)
		pw.CloseWithError(err)
		archived <- err
	}()
	built, buildErr := b.runBuild(ctx, pr, tag, p)
	// Unblocks the archiver when the engine stopped reading early.
	pr.CloseWithError(errBuildDone)
	// A closed pipe only means the engine stopped reading: its own error
	// says why. Any other archiver error (an unreadable file) is the cause,
	// where the engine would only report a truncated upload.
	if err := <-archived; err != nil && !errors.Is(err, errBuildDone) && !errors.Is(err, io.ErrClosedPipe) {
		return "", fmt.Errorf("build image %s: %w", tag, err)
	}
	if buildErr != nil {
		return "", buildErr
	}
	if replaced != "" && built != "" && built != replaced {
		// The tag moved (a per-bottle Dockerfile gained approved lines):
		// drop the image it held so approvals do not pile up images. Best
		// effort and never forced: the engine refuses while a container
		// uses it or while it is a parent of the new one (a cached step),
		// and either way it is gc's to collect later.
		_, _ = b.c.ImageRemove(ctx, replaced, image.RemoveOptions{PruneChildren: true})
	}
	return tag, nil
}

// inherits reports whether the image the Dockerfile starts from carries
// every one of labels except the content hash. Any doubt (a base only the
// builder can resolve, an image not there) reads as no.
func (b *Backend) inherits(ctx context.Context, dockerfile string, labels map[string]string) bool {
	df, err := os.ReadFile(dockerfile)
	if err != nil {
		return false
	}
	base := buildctx.BaseImage(df)
	if base == "" {
		return false
	}
	info, err := b.c.ImageInspect(ctx, base)
	if err != nil || info.Config == nil {
		return false
	}
	for k, v := range labels {
		if k != LabelContentHash && info.Config.Labels[k] != v {
			return false
		}
	}
	return true
}

// errBuildDone stops a build context upload that the engine no longer reads.
var errBuildDone = errors.New("build finished")

// runBuild runs one legacy build and returns the built image's ID (or "" if
// the engine did not announce it).
func (b *Backend) runBuild(ctx context.Context, body io.Reader, tag string, p backend.Progress) (string, error) {
	resp, err := b.c.ImageBuild(ctx, body, build.ImageBuildOptions{
		Tags:       []string{tag},
		Dockerfile: buildctx.DockerfileName,
		// Intermediate containers of the legacy builder are never kept,
		// not even after a failed step, so a build leaves nothing behind.
		Remove:      true,
		ForceRemove: true,
		// The legacy builder: the one every 20.10 engine has, and the one
		// that reads the context exactly as buildctx.Context writes it.
		Version: build.BuilderV1,
	})
	if err != nil {
		return "", wrap(err, "build image %s", tag)
	}
	defer resp.Body.Close()
	id, err := readStream(resp.Body, p)
	if err != nil {
		return "", fmt.Errorf("build image %s: %w", tag, err)
	}
	return id, nil
}

// SaveImage writes the image ref as a `docker save` tar archive to w; the
// smolvm backend hands Docker-built images to smolvm this way. The archive
// holds that one image: a ref without a tag means its latest tag, where the
// engine would save every tag of the repository (bottle/<identity> and its
// :base).
func (b *Backend) SaveImage(ctx context.Context, ref string, w io.Writer) error {
	rc, err := b.c.ImageSave(ctx, []string{oneImage(ref)})
	if err != nil {
		return wrap(err, "save image %s", ref)
	}
	defer rc.Close()
	if _, err := io.Copy(w, rc); err != nil {
		return fmt.Errorf("save image %s: %w", ref, err)
	}
	return nil
}

func progress(p backend.Progress, line string) {
	if p != nil {
		p.Progress(line)
	}
}

// oneImage gives a repository name without tag or digest its latest tag,
// so that it names one image.
func oneImage(ref string) string {
	if strings.Contains(ref, "@") || strings.HasPrefix(ref, "sha256:") {
		return ref
	}
	if strings.Contains(ref[strings.LastIndex(ref, "/")+1:], ":") {
		return ref
	}
	return ref + ":latest"
}
