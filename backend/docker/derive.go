package docker

import (
	"context"
	"errors"
	"maps"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"

	"github.com/bottle-dev/bottle/backend"
)

// LabelDerivedFrom is put on every derived image: the ID of the image it
// was derived from. A derived tag whose base has moved since (a re-pulled or
// rebuilt agent image) is derived again.
const LabelDerivedFrom = "dev.bottle.derived-from"

// Derive implements backend.Deriver with a scratch container and a commit.
// The container is created from the base with no environment of the
// bottle's and never started, so the committed image has the base's
// configuration, nothing of a bottle's (its secrets least of all), and
// only what fill wrote.
func (b *Backend) Derive(ctx context.Context, d backend.Derivation, fill func(ctx context.Context, instance string) error) (string, bool, error) {
	if d.Base == "" || d.Ref == "" {
		return "", false, errors.New("derive image: base and ref are both needed")
	}
	base, reused, err := b.derived(ctx, d.Base, d.Ref)
	switch {
	case err != nil:
		return "", false, err
	case reused:
		return d.Ref, true, nil
	}

	labels := make(map[string]string, len(d.Labels)+2)
	maps.Copy(labels, d.Labels)
	labels[backend.LabelManaged] = "true"
	cfg := &container.Config{Image: base.ID, Labels: labels}
	if base.Config == nil || (len(base.Config.Cmd) == 0 && len(base.Config.Entrypoint) == 0) {
		// The engine creates no container without a command; this one
		// never runs it, and every bottle names its own.
		cfg.Cmd = []string{"true"}
	}
	holder, err := b.c.ContainerCreate(ctx, cfg, &container.HostConfig{NetworkMode: "none"}, nil, nil, "")
	if err != nil {
		return "", false, wrap(err, "derive image %s: create a scratch container", d.Ref)
	}
	defer func() {
		// Best effort, also after a cancel: a holder left behind carries
		// the managed and home labels, and gc removes it.
		_ = b.c.ContainerRemove(context.WithoutCancel(ctx), holder.ID, container.RemoveOptions{Force: true})
	}()
	if err := fill(ctx, holder.ID); err != nil {
		return "", false, err
	}
	labels[LabelDerivedFrom] = base.ID
	saved, err := b.c.ContainerCommit(ctx, holder.ID, container.CommitOptions{
		Reference: d.Ref,
		Comment:   "bottle: " + d.Ref + " derived from " + d.Base,
		// Only the labels are given: the engine fills in the rest of the
		// configuration from the container, which is the base's.
		Config: &container.Config{Labels: labels},
	})
	if err != nil {
		return "", false, wrap(err, "derive image %s: commit", d.Ref)
	}
	b.supersede(ctx, d.Supersedes, saved.ID)
	return d.Ref, false, nil
}

// Derived implements backend.Deriver.
func (b *Backend) Derived(ctx context.Context, base, ref string) (bool, error) {
	_, ok, err := b.derived(ctx, base, ref)
	return ok, err
}

// derived inspects base and reports whether ref was derived from it.
func (b *Backend) derived(ctx context.Context, base, ref string) (image.InspectResponse, bool, error) {
	info, err := b.c.ImageInspect(ctx, base)
	if err != nil {
		return info, false, wrap(err, "inspect image %s", base)
	}
	cur, err := b.c.ImageInspect(ctx, ref)
	switch {
	case err == nil:
		return info, cur.Config != nil && cur.Config.Labels[LabelDerivedFrom] == info.ID, nil
	case isNotFound(err):
		return info, false, nil
	default:
		return info, false, wrap(err, "inspect image %s", ref)
	}
}

// supersede removes the images carrying all of match except keep. Never
// forced: an image a bottle still runs on stays, and goes the next time.
func (b *Backend) supersede(ctx context.Context, match map[string]string, keep string) {
	if len(match) == 0 {
		return
	}
	f := filters.NewArgs()
	for k, v := range match {
		f.Add("label", k+"="+v)
	}
	imgs, err := b.c.ImageList(ctx, image.ListOptions{Filters: f})
	if err != nil {
		return
	}
	for _, im := range imgs {
		if im.ID != keep {
			_, _ = b.c.ImageRemove(ctx, im.ID, image.RemoveOptions{PruneChildren: true})
		}
	}
}
