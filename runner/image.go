package runner

import (
	"context"
	"fmt"
	"os"

	"github.com/bottle-dev/bottle/backend"
	"github.com/bottle-dev/bottle/backend/buildctx"
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

// bottleImage builds the per-bottle Dockerfile a capability approval wrote.
// Its tag is unique per identity and carries the content hash, so an
// unchanged Dockerfile is not rebuilt and a changed one always is.
func (r *Runner) bottleImage(ctx context.Context, s *session, p backend.Progress) (string, error) {
	// The per-bottle Dockerfile starts FROM an image and only adds
	// instructions that need no files, so its context is an empty folder:
	// nothing of the state dir (the queue the agent writes) is sent.
	empty, err := os.MkdirTemp("", "bottle-context-")
	if err != nil {
		return "", fmt.Errorf("build context: %w", err)
	}
	defer os.RemoveAll(empty)
	tag, err := bottleImageTag(s.dir.Identity, s.dir.DockerfilePath(), empty)
	if err != nil {
		return "", err
	}
	ref, err := s.be.EnsureImage(ctx, backend.Image{
		Dockerfile: s.dir.DockerfilePath(), Context: empty, Tag: tag,
		Labels: map[string]string{backend.LabelHome: r.Home.ID()},
	}, p)
	if err != nil {
		return "", fmt.Errorf("build the per-bottle Dockerfile %s: %w", s.dir.DockerfilePath(), err)
	}
	return ref, nil
}

func bottleImageTag(identity, dockerfile, context string) (string, error) {
	h, err := buildctx.Hash(dockerfile, context)
	if err != nil {
		return "", fmt.Errorf("hash %s: %w", dockerfile, err)
	}
	if len(h) > 12 {
		h = h[:12]
	}
	return "bottle/" + identity + ":" + h, nil
}
