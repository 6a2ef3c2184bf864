package fake

import (
	"context"
	"fmt"
	"maps"

	"github.com/bottle-dev/bottle/backend"
)

// The Deriver's operations.
const (
	OpDerived Op = "Derived"
	OpDerive  Op = "Derive"
)

var _ backend.Deriver = (*Backend)(nil)

// Derived reports whether ref was derived from the image base names now
// (backend.Deriver).
func (b *Backend) Derived(ctx context.Context, base, ref string) (bool, error) {
	if err := b.begin(Call{Op: OpDerived, Image: backend.Image{Ref: base, Tag: ref}}); err != nil {
		return false, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.derivedLocked(base, ref)
}

func (b *Backend) derivedLocked(base, ref string) (bool, error) {
	bi := b.images[base]
	if bi == nil {
		return false, fmt.Errorf("image %s: %w", base, backend.ErrNotFound)
	}
	ri := b.images[ref]
	return ri != nil && ri.derivedFrom == bi, nil
}

// Derive makes d.Ref as the Docker backend does (backend.Deriver): a
// scratch instance of d.Base that never runs, fill, and a copy of its files
// with the base's configuration. The scratch instance is a live instance
// meanwhile (CopyIn and CopyOut reach it), named after a made-up identity.
func (b *Backend) Derive(ctx context.Context, d backend.Derivation, fill func(ctx context.Context, instance string) error) (string, bool, error) {
	if err := b.begin(Call{Op: OpDerive, Image: backend.Image{Ref: d.Base, Tag: d.Ref, Labels: maps.Clone(d.Labels)}}); err != nil {
		return "", false, err
	}
	b.mu.Lock()
	ok, err := b.derivedLocked(d.Base, d.Ref)
	base := b.images[d.Base]
	b.mu.Unlock()
	switch {
	case err != nil:
		return "", false, err
	case ok:
		return d.Ref, true, nil
	}
	holder := newInstance(b, backend.Spec{Identity: "derive-" + randomID()[:8], Image: d.Base}, base)
	b.mu.Lock()
	b.live[holder.id] = holder
	b.mu.Unlock()
	defer func() {
		b.mu.Lock()
		delete(b.live, holder.id)
		b.mu.Unlock()
	}()
	if err := fill(ctx, holder.id); err != nil {
		return "", false, err
	}
	im := base.derive()
	im.ref, im.fs, im.derivedFrom = d.Ref, holder.fs.clone(), base
	maps.Copy(im.labels, d.Labels)
	im.labels[backend.LabelManaged] = "true"
	b.mu.Lock()
	defer b.mu.Unlock()
	b.images[d.Ref] = im
	for ref, other := range b.images {
		if ref != d.Ref && len(d.Supersedes) > 0 && matches(other.labels, d.Supersedes) && !b.usedLocked(ref) {
			delete(b.images, ref)
		}
	}
	return d.Ref, false, nil
}

// matches reports whether labels include all of want.
func matches(labels, want map[string]string) bool {
	for k, v := range want {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// usedLocked reports whether a live instance runs on the image ref.
func (b *Backend) usedLocked(ref string) bool {
	for _, in := range b.live {
		if in.spec.Image == ref {
			return true
		}
	}
	return false
}
