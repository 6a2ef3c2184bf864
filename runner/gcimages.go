package runner

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/bottle-dev/bottle/backend"
	"github.com/bottle-dev/bottle/backend/buildctx"
)

// supersededImages lists the images of this home that nothing needs any
// more, on backends that keep images (backend.ImageLister):
//   - an agent image (bottle-agent:…) that is not the newest build of its
//     Dockerfile, or whose Dockerfile is gone;
//   - a cwd image (bottle-cwd:…) that is not the newest of its folder and
//     bottle, or whose folder is gone;
//   - an untagged image of bottle's (a per-bottle image an approval
//     replaced, an image a tag moved away from);
//   - an egress proxy image (backend.LabelProxy) other than the current
//     bottle binary's: shared by the homes on the engine, it is judged
//     by use alone.
//
// An image any container was made from is kept, and so is every image a
// state dir names: the image a bottle ran on, its agent image, and the base
// of its per-bottle Dockerfile (a preserved bottle resumes from them).
// only, when set, limits the answer to the images of one agent Dockerfile
// (the check a launch makes after a build).
func (r *Runner) supersededImages(ctx context.Context, be backend.Backend, only string) ([]backend.Resource, error) {
	il, ok := be.(backend.ImageLister)
	if !ok {
		return nil, nil
	}
	imgs, err := il.Images(ctx)
	if err != nil {
		return nil, err
	}
	keep, err := r.imagesInState(ctx)
	if err != nil {
		return nil, err
	}
	byTag := map[string]string{}
	for _, im := range imgs {
		for _, t := range im.Tags {
			byTag[t] = im.ID
		}
	}
	keepIDs := map[string]bool{}
	for ref := range keep {
		if id, ok := byTag[fullRef(ref)]; ok {
			keepIDs[id] = true
		}
		keepIDs[ref] = true // a state dir may name an image by ID
	}
	// The newest image of each agent Dockerfile and of each cwd family.
	newest := map[string]int64{}
	group := func(im backend.ImageInfo) string {
		switch {
		case im.Labels[backend.LabelCwd] != "":
			return "cwd " + im.Labels[backend.LabelCwd]
		case hasRepo(im.Tags, buildctx.TagRepo):
			return "agent " + im.Labels[backend.LabelHome] + " " + im.Labels[backend.LabelDockerfile]
		}
		return ""
	}
	for _, im := range imgs {
		if g := group(im); g != "" && len(im.Tags) > 0 && im.Created.Unix() > newest[g] {
			newest[g] = im.Created.Unix()
		}
	}
	currentProxy := ""
	if pi, ok := be.(backend.ProxyImager); ok && only == "" {
		if currentProxy, err = pi.CurrentProxyImage(ctx); err != nil {
			return nil, err
		}
	}
	var out []backend.Resource
	for _, im := range imgs {
		proxy := im.Labels[backend.LabelProxy] == "image"
		if (!proxy && im.Labels[backend.LabelHome] != r.Home.ID()) || im.InUse || keepIDs[im.ID] {
			continue
		}
		if only != "" && im.Labels[backend.LabelDockerfile] != only {
			continue
		}
		why := ""
		g := group(im)
		switch {
		case proxy:
			if currentProxy == "" || slices.Contains(im.Tags, currentProxy) {
				continue
			}
			why = "an egress proxy image no bottle uses"
		case len(im.Tags) == 0:
			why = "untagged"
		case g == "":
			continue // a per-bottle image: gc's identity rules judge it
		case gone(im.Labels[backend.LabelDockerfile]) || gone(im.Labels[backend.LabelCwdPath]):
			why = "its source is gone"
		case im.Created.Unix() < newest[g]:
			why = "superseded"
		default:
			continue
		}
		name := im.ID
		if len(im.Tags) > 0 {
			name = im.Tags[0]
		}
		out = append(out, backend.Resource{Kind: "image", ID: im.ID, Name: name, Identity: why, Labels: im.Labels})
	}
	return out, nil
}

// imagesInState returns every image reference the state dirs name.
func (r *Runner) imagesInState(ctx context.Context) (map[string]bool, error) {
	ids, _, err := r.Home.Identities()
	if err != nil {
		return nil, err
	}
	refs := make([][]string, len(ids))
	err = forEach(ctx, len(ids), func(i int) {
		dir, err := r.Home.Dir(ids[i])
		if err != nil {
			return
		}
		if md, err := dir.ReadMetadata(); err == nil {
			refs[i] = append(refs[i], md.Image, md.BaseImage)
		}
		if df, err := dir.ReadDockerfile(); err == nil && df != "" {
			refs[i] = append(refs[i], buildctx.BaseImage([]byte(df)))
		}
	})
	if err != nil {
		return nil, err
	}
	keep := map[string]bool{}
	for _, rs := range refs {
		for _, ref := range rs {
			if ref != "" {
				keep[ref] = true
			}
		}
	}
	return keep, nil
}

// dropSupersededAgentImages is the check a launch makes after it built an
// agent image: the older builds of the same Dockerfile go, unless kept.
// Best effort: what fails here, gc removes later.
func (r *Runner) dropSupersededAgentImages(ctx context.Context, be backend.Backend, dockerfile string) {
	rs, err := r.supersededImages(ctx, be, dockerfile)
	if err != nil {
		return
	}
	removeResources(ctx, be, rs)
}

// gcImages removes (or, dry, only lists) the superseded images of be.
func (r *Runner) gcImages(ctx context.Context, be backend.Backend, dry bool, done map[string]bool) ([]string, error) {
	rs, err := r.supersededImages(ctx, be, "")
	if err != nil {
		return nil, err
	}
	var todo []backend.Resource
	for _, rs := range rs {
		if !done["image "+rs.ID] {
			todo = append(todo, rs)
		}
	}
	if dry {
		var lines []string
		for _, rs := range todo {
			lines = append(lines, fmt.Sprintf("%s image %s (%s)", be.Name(), rs.Name, rs.Identity))
		}
		return lines, nil
	}
	gone, errs := removeResources(ctx, be, todo)
	var lines []string
	for _, rs := range gone {
		done["image "+rs.ID] = true
		lines = append(lines, fmt.Sprintf("%s image %s (%s)", be.Name(), rs.Name, rs.Identity))
	}
	// The engine refuses to remove an image another one is built on (an
	// older agent image under a cwd image still kept): it stays until
	// that one goes, which is no failure of gc's.
	var failed []error
	for _, err := range errs {
		if !errors.Is(err, backend.ErrConflict) {
			failed = append(failed, err)
		}
	}
	return lines, errors.Join(failed...)
}

// fullRef gives a reference without a tag the tag the engine lists it
// under.
func fullRef(ref string) string {
	if strings.Contains(ref, "@") || strings.HasPrefix(ref, "sha256:") {
		return ref
	}
	if !strings.Contains(ref[strings.LastIndex(ref, "/")+1:], ":") {
		return ref + ":latest"
	}
	return ref
}

func hasRepo(tags []string, repo string) bool {
	for _, t := range tags {
		if strings.HasPrefix(t, repo+":") {
			return true
		}
	}
	return false
}

// gone reports whether a recorded host path no longer exists ("" is
// never gone: nothing was recorded).
func gone(path string) bool {
	if path == "" {
		return false
	}
	_, err := os.Lstat(path)
	return errors.Is(err, os.ErrNotExist)
}
