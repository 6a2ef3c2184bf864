package kubernetes

import (
	"context"
	"fmt"
	"strings"

	"github.com/bottle-dev/bottle/backend"
	"github.com/bottle-dev/bottle/backend/buildctx"
)

// EnsureImage returns an image reference as it is (the cluster pulls it),
// and builds a Dockerfile with the image builder, then pushes the result to
// the registry. It returns the builder's reference (a per-bottle Tag, or the
// content-hash tag); Create turns the references bottle builds into their
// registry names (see remoteRef).
func (b *Backend) EnsureImage(ctx context.Context, img backend.Image, p backend.Progress) (string, error) {
	if img.Ref != "" {
		return img.Ref, nil
	}
	if b.images == nil {
		return "", fmt.Errorf("build %s: the kubernetes backend builds Dockerfiles with the local Docker engine, and none is configured", img.Dockerfile)
	}
	if b.registry == "" {
		return "", fmt.Errorf("build %s: set `registry` (e.g. \"registry.example.com/team/bottle\") so that the cluster can pull the images bottle builds, or use an `image` agent", img.Dockerfile)
	}
	built := &countingProgress{p: p}
	ref, err := b.images.EnsureImage(ctx, img, built)
	if err != nil {
		return "", err
	}
	remote := b.remoteRef(ref)
	if built.n > 0 && p != nil {
		p.Progress("push " + remote)
	}
	// Pushing an unchanged image only checks that the registry has its
	// layers: cheap, and it repairs a registry that lost it.
	if err := b.images.PushImage(ctx, ref, remote); err != nil {
		return "", fmt.Errorf("push %s: %w", remote, err)
	}
	return ref, nil
}

// remoteRef is where the cluster pulls ref from: the images bottle builds
// (per-bottle bottle/<identity> tags and content-hash tags) are pushed under
// the registry; any other reference is the user's and is used as it is.
func (b *Backend) remoteRef(ref string) string {
	if b.registry == "" {
		return ref
	}
	if strings.HasPrefix(ref, "bottle/") || strings.HasPrefix(ref, buildctx.TagRepo+":") {
		return b.registry + "/" + ref
	}
	return ref
}

// countingProgress counts the progress lines of a build, so that a push
// is announced only after a real build.
type countingProgress struct {
	p backend.Progress
	n int
}

func (c *countingProgress) Progress(line string) {
	c.n++
	if c.p != nil {
		c.p.Progress(line)
	}
}
