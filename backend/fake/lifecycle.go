package fake

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"path"
	"slices"
	"sort"

	"github.com/bottle-dev/bottle/backend"
)

// Create makes the instance of spec from a known image (EnsureImage or
// AddImage), with the image's files, spec's mounts and the workdir, and a
// network named after the instance, as the Docker backend has.
func (b *Backend) Create(ctx context.Context, spec backend.Spec) (backend.Instance, error) {
	if err := b.begin(Call{Op: OpCreate, Spec: cloneSpec(spec)}); err != nil {
		return backend.Instance{}, err
	}
	if spec.Identity == "" || spec.Image == "" {
		return backend.Instance{}, errors.New("create: the spec needs an identity and an image")
	}
	name := backend.InstanceName(spec.Identity)
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, in := range b.live {
		if in.name == name {
			return backend.Instance{}, fmt.Errorf("create %s: %w", name, backend.ErrConflict)
		}
	}
	img := b.images[spec.Image]
	if img == nil {
		return backend.Instance{}, fmt.Errorf("create %s: image %s: %w", name, spec.Image, backend.ErrNotFound)
	}
	in := newInstance(b, spec, img)
	b.live[in.id] = in
	b.all = append(b.all, in)
	b.networks[name] = backend.Resource{Kind: "network", ID: "net-" + in.id[:12], Name: name, Identity: spec.Identity, Labels: maps.Clone(in.labels)}
	return in.info(), nil
}

// CopyIn extracts the tar stream r at the directory dst of the instance.
func (b *Backend) CopyIn(ctx context.Context, id, dst string, r io.Reader, owner *backend.Owner) error {
	if err := b.begin(Call{Op: OpCopyIn, ID: id, Path: dst}); err != nil {
		return err
	}
	if !path.IsAbs(dst) {
		return fmt.Errorf("copy into %s: destination %q is not absolute", id, dst)
	}
	in, err := b.lookup(id)
	if err != nil {
		return fmt.Errorf("copy into: %w", err)
	}
	if err := in.fs.extract(dst, r, owner); err != nil {
		return fmt.Errorf("copy into %s:%s: %w", id, dst, err)
	}
	return nil
}

// CopyOut writes a tar stream of the directory src of the instance.
func (b *Backend) CopyOut(ctx context.Context, id, src string, w io.Writer) error {
	if err := b.begin(Call{Op: OpCopyOut, ID: id, Path: src}); err != nil {
		return err
	}
	if !path.IsAbs(src) {
		return fmt.Errorf("copy out of %s: source %q is not absolute", id, src)
	}
	in, err := b.lookup(id)
	if err != nil {
		return fmt.Errorf("copy out: %w", err)
	}
	err = in.fs.archive(src, w)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("copy out of %s:%s: %w", id, src, backend.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("copy out of %s:%s: %w", id, src, err)
	}
	return nil
}

// Inspect returns the instance's current state.
func (b *Backend) Inspect(ctx context.Context, id string) (backend.Instance, error) {
	if err := b.begin(Call{Op: OpInspect, ID: id}); err != nil {
		return backend.Instance{}, err
	}
	in, err := b.lookup(id)
	if err != nil {
		return backend.Instance{}, fmt.Errorf("inspect: %w", err)
	}
	return in.info(), nil
}

// ReadsHalted: CopyOut reads a halted instance as it is, as docker does
// (backend.HaltedReader).
func (b *Backend) ReadsHalted() bool { return true }

// Halt kills the main process and keeps the instance; halting one whose
// process has ended is not an error.
func (b *Backend) Halt(ctx context.Context, id string) error {
	if err := b.begin(Call{Op: OpHalt, ID: id}); err != nil {
		return err
	}
	in, err := b.lookup(id)
	if err != nil {
		return fmt.Errorf("halt: %w", err)
	}
	return in.kill(ctx)
}

// Remove kills the main process (a running Run returns 137), deletes the
// instance and its network. A missing instance is not an error; its
// network, if the name says which, is removed.
func (b *Backend) Remove(ctx context.Context, id string) error {
	if err := b.begin(Call{Op: OpRemove, ID: id}); err != nil {
		return err
	}
	in, err := b.lookup(id)
	if errors.Is(err, backend.ErrNotFound) {
		b.mu.Lock()
		delete(b.networks, id)
		b.mu.Unlock()
		return nil
	}
	if err := in.kill(ctx); err != nil {
		return fmt.Errorf("remove %s: %w", id, err)
	}
	in.markRemoved()
	b.mu.Lock()
	delete(b.live, in.id)
	delete(b.networks, in.name)
	b.mu.Unlock()
	return nil
}

// List returns the live instances whose labels include all of match, in
// creation order.
func (b *Backend) List(ctx context.Context, match map[string]string) ([]backend.Instance, error) {
	if err := b.begin(Call{Op: OpList, Match: maps.Clone(match)}); err != nil {
		return nil, err
	}
	b.mu.Lock()
	var ins []*Instance
	for _, in := range b.all {
		if b.live[in.id] != nil {
			ins = append(ins, in)
		}
	}
	b.mu.Unlock()
	var out []backend.Instance
	for _, in := range ins {
		info := in.info()
		if hasLabels(info.Labels, match) {
			out = append(out, info)
		}
	}
	return out, nil
}

func hasLabels(labels, match map[string]string) bool {
	for k, v := range match {
		if got, ok := labels[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// AddResource adds a leftover that Leftovers reports until RemoveResource
// removes it: e.g. another BOTTLE_HOME's network.
func (b *Backend) AddResource(r backend.Resource) {
	b.mu.Lock()
	defer b.mu.Unlock()
	r.Labels = maps.Clone(r.Labels)
	b.extra = append(b.extra, r)
}

// Leftovers lists the networks of instances, per-bottle images (tagged
// bottle/<identity>) and added resources, sorted by kind and name.
func (b *Backend) Leftovers(ctx context.Context) ([]backend.Resource, error) {
	if err := b.begin(Call{Op: OpLeftovers}); err != nil {
		return nil, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	out := slices.Collect(maps.Values(b.networks))
	for _, im := range b.images {
		if id := im.labels[backend.LabelIdentity]; id != "" {
			out = append(out, backend.Resource{Kind: "image", ID: im.ref, Name: im.ref, Identity: id, Labels: maps.Clone(im.labels)})
		}
	}
	for _, r := range b.extra {
		r.Labels = maps.Clone(r.Labels)
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Kind != out[j].Kind {
			return out[i].Kind < out[j].Kind
		}
		return out[i].Name < out[j].Name
	})
	return out, nil
}

// RemoveResource deletes one leftover; one already gone counts as removed.
func (b *Backend) RemoveResource(ctx context.Context, r backend.Resource) error {
	if err := b.begin(Call{Op: OpRemoveResource, Resource: r}); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	switch r.Kind {
	case "network":
		for name, n := range b.networks {
			if n.ID == r.ID || name == r.Name {
				delete(b.networks, name)
			}
		}
	case "image":
		delete(b.images, r.Name)
		delete(b.images, r.ID)
	}
	b.extra = slices.DeleteFunc(b.extra, func(e backend.Resource) bool { return e.Kind == r.Kind && e.ID == r.ID })
	return nil
}
