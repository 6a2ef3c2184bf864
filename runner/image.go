package runner

import (
	"context"
	"fmt"
	"os"

	"github.com/bottle-dev/bottle/backend"
)

// agentImage builds or pulls the agent's own image and returns its reference.
func (r *Runner) agentImage(ctx context.Context, s *session, p backend.Progress) (string, error) {
	a := s.bottle.Agent
	if a.Image != "" {
		ref, err := s.be.EnsureImage(ctx, backend.Image{Ref: a.Image}, p)
		if err != nil {
			return "", withRange(fmt.Errorf("image %s: %w", a.Image, err), a.ImageRange)
		}
		return ref, nil
	}
	ref, err := s.be.EnsureImage(ctx, backend.Image{Dockerfile: a.Dockerfile, Context: a.Context}, p)
	if err != nil {
		return "", withRange(fmt.Errorf("build %s: %w", a.Dockerfile, err), a.DockerfileRange)
	}
	return ref, nil
}

// bottleImage builds the per-bottle Dockerfile a capability approval wrote,
// tagged bottle/<identity> (unique per identity). The backend labels the
// build with its content hash: an unchanged Dockerfile is not rebuilt, a
// changed one always is, and the image it replaces is dropped.
func (r *Runner) bottleImage(ctx context.Context, s *session, p backend.Progress) (string, error) {
	// The per-bottle Dockerfile starts FROM an image and only adds
	// instructions that need no files, so its context is an empty folder:
	// nothing of the state dir (the queue the agent writes) is sent.
	empty, err := os.MkdirTemp("", "bottle-context-")
	if err != nil {
		return "", fmt.Errorf("build context: %w", err)
	}
	defer os.RemoveAll(empty)
	ref, err := s.be.EnsureImage(ctx, backend.Image{
		Dockerfile: s.dir.DockerfilePath(), Context: empty, Tag: "bottle/" + s.dir.Identity,
		Labels: map[string]string{backend.LabelHome: r.Home.ID()},
	}, p)
	if err != nil {
		return "", fmt.Errorf("build the per-bottle Dockerfile %s: %w", s.dir.DockerfilePath(), err)
	}
	return ref, nil
}

// dropImages removes the per-bottle images of identity once its state is
// gone: nothing can resume it any more.
func dropImages(ctx context.Context, be backend.Backend, identity string) {
	res, err := be.Leftovers(ctx)
	if err != nil {
		return
	}
	for _, rs := range res {
		if rs.Kind == "image" && rs.Identity == identity {
			_ = be.RemoveResource(ctx, rs)
		}
	}
}
