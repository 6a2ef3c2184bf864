package runner

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"unicode"

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
	// Progress is only reported for work done: a build.
	built := backend.ProgressFunc(func(line string) {
		s.builtAgent = true
		p.Progress(line)
	})
	ref, err := s.be.EnsureImage(ctx, backend.Image{Dockerfile: a.Dockerfile, Context: a.Context, Labels: r.agentLabels(a.Dockerfile)}, built)
	if err != nil {
		return "", withRange(fmt.Errorf("build %s: %w", a.Dockerfile, err), a.DockerfileRange)
	}
	return ref, nil
}

// agentLabels are the labels of the image built from an agent Dockerfile:
// this home's (gc judges only its own images) and the Dockerfile's path (gc
// keeps the newest image of each, and none of a Dockerfile that is gone).
// A path the builder could not carry unchanged in a LABEL line is left out.
func (r *Runner) agentLabels(dockerfile string) map[string]string {
	l := r.homeLabels()
	if !strings.ContainsFunc(dockerfile, unicode.IsControl) {
		l[backend.LabelDockerfile] = dockerfile
	}
	return l
}

// homeLabels are the labels of everything this home makes: its ID, and its
// path (left out when a LABEL line could not carry it), by which gc
// --orphans tells what a home that is gone left.
func (r *Runner) homeLabels() map[string]string {
	l := map[string]string{backend.LabelHome: r.Home.ID()}
	if !strings.ContainsFunc(r.Home.Path, unicode.IsControl) {
		l[backend.LabelHomePath] = r.Home.Path
	}
	return l
}

// bottleImage builds the per-bottle Dockerfile a capability approval wrote,
// tagged bottle/<identity> (unique per identity); the image it replaces is
// dropped.
func (r *Runner) bottleImage(ctx context.Context, s *session, p backend.Progress) (string, error) {
	ref, err := r.buildFromImage(ctx, s.be, s.dir.DockerfilePath(), perBottleTag(s.dir.Identity), p)
	if err != nil {
		return "", fmt.Errorf("build the per-bottle Dockerfile %s: %w", s.dir.DockerfilePath(), err)
	}
	return ref, nil
}

// perBottleTag is the tag of identity's per-bottle image.
func perBottleTag(identity string) string { return "bottle/" + identity }

// labelledBase makes bottle/<identity>:base, the image base with the
// identity's labels, and returns its tag. A per-bottle Dockerfile that
// starts FROM it inherits the labels, so its build runs only the approved
// lines. It returns "" when the backend cannot build it: the per-bottle
// build then adds the labels itself, one step more.
func (r *Runner) labelledBase(ctx context.Context, be backend.Backend, identity, base string) string {
	dir, err := os.MkdirTemp("", "bottle-base-")
	if err != nil {
		return ""
	}
	defer os.RemoveAll(dir)
	df := filepath.Join(dir, "Dockerfile")
	if err := os.WriteFile(df, []byte("FROM "+base+"\n"), 0o600); err != nil {
		return ""
	}
	ref, err := r.buildFromImage(ctx, be, df, perBottleTag(identity)+":base", nil)
	if err != nil {
		return ""
	}
	return ref
}

// buildFromImage builds a Dockerfile that starts FROM an image and only
// adds instructions that need no files, so its context is an empty folder:
// nothing next to the Dockerfile (the state dir, with the queue the agent
// writes) is sent.
func (r *Runner) buildFromImage(ctx context.Context, be backend.Backend, dockerfile, tag string, p backend.Progress) (string, error) {
	empty, err := os.MkdirTemp("", "bottle-context-")
	if err != nil {
		return "", fmt.Errorf("build context: %w", err)
	}
	defer os.RemoveAll(empty)
	return be.EnsureImage(ctx, backend.Image{
		Dockerfile: dockerfile, Context: empty, Tag: tag,
		Labels: r.homeLabels(),
	}, p)
}

// dropImages removes the per-bottle images of identity once its state is
// gone: nothing can resume it any more.
func dropImages(ctx context.Context, be backend.Backend, identity string) {
	res, err := be.Leftovers(ctx)
	if err != nil {
		return
	}
	var imgs []backend.Resource
	for _, rs := range res {
		if rs.Kind == "image" && rs.Identity == identity {
			imgs = append(imgs, rs)
		}
	}
	removeResources(ctx, be, imgs)
}

// removeResources removes rs and returns what it removed and why the rest
// was not. An engine refuses to remove an image while a child of it is
// there (bottle/<identity>:base under bottle/<identity>), and lists them in
// no useful order: what fails the first pass is tried once more after the
// others.
func removeResources(ctx context.Context, be backend.Backend, rs []backend.Resource) ([]backend.Resource, []error) {
	var removed []backend.Resource
	var errs []error
	for pass := 0; pass < 2 && len(rs) > 0; pass++ {
		var retry []backend.Resource
		errs = errs[:0]
		for _, r := range rs {
			if err := be.RemoveResource(ctx, r); err != nil {
				retry = append(retry, r)
				errs = append(errs, err)
				continue
			}
			removed = append(removed, r)
		}
		rs = retry
	}
	return removed, errs
}
