package runner

import (
	"context"
	"errors"
	"fmt"

	"github.com/bottle-dev/bottle/backend"
	"github.com/bottle-dev/bottle/runner/state"
)

// gcOrphans removes (or, dry, lists) the instances, networks and images of
// BOTTLE_HOMEs that no longer exist: gc only judges its own home's, and a
// home that is gone runs no gc. A resource counts only when both of its
// home labels agree (its path, and the ID of that path) and the path is
// gone; one without a path label (made before bottle recorded it) is left.
func (r *Runner) gcOrphans(ctx context.Context, be backend.Backend, dry bool, done map[string]bool) ([]string, error) {
	var lines []string
	var errs []error
	insts, err := be.List(ctx, nil)
	if err != nil {
		return nil, err
	}
	for _, inst := range insts {
		if !homeGone(inst.Labels) {
			continue
		}
		if !dry {
			// Its home is gone, and the audit log with it.
			if err := removeInstance(ctx, be, nil, inst.ID); err != nil {
				errs = append(errs, err)
				continue
			}
		}
		lines = append(lines, fmt.Sprintf("%s %s (%s; its home %s is gone)", be.Name(), inst.Name, inst.Identity, inst.Labels[backend.LabelHomePath]))
	}
	res, err := leftovers(ctx, be)
	if err != nil {
		errs = append(errs, err)
		if res == nil {
			return lines, errors.Join(errs...)
		}
	}
	var orphans []backend.Resource
	for _, rs := range res {
		if homeGone(rs.Labels) && !done[rs.Kind+" "+rs.ID] {
			orphans = append(orphans, rs)
		}
	}
	if il, ok := be.(backend.ImageLister); ok {
		imgs, err := il.Images(ctx)
		if err != nil {
			return lines, errors.Join(append(errs, err)...)
		}
		for _, im := range imgs {
			// Per-bottle images came with Leftovers already.
			if !im.InUse && homeGone(im.Labels) && im.Labels[backend.LabelIdentity] == "" && !done["image "+im.ID] {
				name := im.ID
				if len(im.Tags) > 0 {
					name = im.Tags[0]
				}
				orphans = append(orphans, backend.Resource{Kind: "image", ID: im.ID, Name: name, Labels: im.Labels})
			}
		}
	}
	if !dry {
		var rerrs []error
		orphans, rerrs = removeResources(ctx, be, orphans)
		errs = append(errs, rerrs...)
	}
	for _, rs := range orphans {
		done[rs.Kind+" "+rs.ID] = true
		lines = append(lines, fmt.Sprintf("%s %s %s (its home %s is gone)", be.Name(), rs.Kind, rs.Name, rs.Labels[backend.LabelHomePath]))
	}
	return lines, errors.Join(errs...)
}

// homeGone reports whether labels name a BOTTLE_HOME that no longer exists.
func homeGone(labels map[string]string) bool {
	p := labels[backend.LabelHomePath]
	if p == "" || labels[backend.LabelHome] != (state.Home{Path: p}).ID() {
		return false
	}
	return gone(p)
}
