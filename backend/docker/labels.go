package docker

import (
	"maps"
	"strings"

	"github.com/bottle-dev/bottle/backend"
)

// LabelContentHash is put on every image the backend builds under a tag
// of the caller's (backend.Image.Tag): the buildctx.Hash of its Dockerfile
// and context. A tag that exists with the same hash is reused; one with
// another hash (a per-bottle Dockerfile that gained approved lines) is
// rebuilt. Images tagged by content need no such label.
const LabelContentHash = "dev.bottle.content-hash"

// perBottleRepo is the repository of per-bottle images, bottle/<identity>
// (DESIGN.md, inherited behaviour 5). EnsureImage reads the identity from
// such a tag to label the image, since backend.Image carries no identity.
const perBottleRepo = "bottle/"

// specLabels are the labels of every resource of one bottle: the caller's
// extra labels, then the managed ones, which the caller cannot override.
func specLabels(spec backend.Spec) map[string]string {
	l := make(map[string]string, len(spec.Labels)+4)
	maps.Copy(l, spec.Labels)
	l[backend.LabelManaged] = "true"
	l[backend.LabelIdentity] = spec.Identity
	l[backend.LabelBottle] = spec.Bottle
	l[backend.LabelAgent] = spec.Agent
	return l
}

// tagIdentity returns the identity of a per-bottle tag such as
// "bottle/reviewer-k3x9a" or "bottle/reviewer-k3x9a:latest", or "".
func tagIdentity(tag string) string {
	rest, ok := strings.CutPrefix(tag, perBottleRepo)
	if !ok {
		return ""
	}
	identity, _, _ := strings.Cut(rest, ":")
	return identity
}
