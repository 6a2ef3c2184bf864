package kubernetes

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/bottle-dev/bottle/backend"
)

// RegistryImageKind is the Resource kind of a per-bottle image in the
// registry: ID is the image's reference by digest, Name by tag.
const RegistryImageKind = "registry-image"

var _ backend.RemoteImageLister = (*Backend)(nil)

// RemoteLeftovers lists the per-bottle images bottle pushed to the
// registry: one Resource per manifest of each <registry>/bottle/<identity>
// repository, labelled with the image's own labels (so gc judges it like a
// local image: only its home's, only when the identity is gone). An image
// whose identity label does not name its repository is not bottle's and is
// left out. Listing reads the registry's catalog (/v2/_catalog), then a tag
// list, a manifest and a config per image: gc's cost, never a teardown's.
func (b *Backend) RemoteLeftovers(ctx context.Context) ([]backend.Resource, error) {
	if b.registry == "" {
		return nil, nil
	}
	host, prefix := b.perBottleRepos()
	reg, err := name.NewRegistry(host)
	if err != nil {
		return nil, fmt.Errorf("registry %s: %w", b.registry, err)
	}
	opts := []remote.Option{remote.WithContext(ctx)}
	repos, err := remote.Catalog(ctx, reg, opts...)
	if err != nil {
		return nil, fmt.Errorf("list the repositories of registry %s (gc reads its catalog, /v2/_catalog): %w", host, err)
	}
	var out []backend.Resource
	var errs []error
	for _, repo := range repos {
		id, ok := strings.CutPrefix(repo, prefix)
		if !ok || id == "" || strings.Contains(id, "/") {
			continue
		}
		got, err := repoImages(ctx, reg, repo, id, opts)
		if err != nil {
			errs = append(errs, err)
		}
		out = append(out, got...)
	}
	return out, errors.Join(errs...)
}

// perBottleRepos splits the registry into its host and the prefix of the
// per-bottle repositories on it: remoteRef pushes bottle/<identity> under
// the registry's path.
func (b *Backend) perBottleRepos() (host, prefix string) {
	host, path, _ := strings.Cut(b.registry, "/")
	if path != "" {
		path += "/"
	}
	return host, path + "bottle/"
}

// repoImages lists the images of one per-bottle repository whose identity
// label is id. A repository whose tags are all deleted lists none.
func repoImages(ctx context.Context, reg name.Registry, repo, id string, opts []remote.Option) ([]backend.Resource, error) {
	r := reg.Repo(repo)
	tags, err := remote.List(r, opts...)
	if err != nil {
		if statusOf(err) == http.StatusNotFound {
			return nil, nil
		}
		return nil, fmt.Errorf("list the tags of %s: %w", r, err)
	}
	seen := map[string]bool{}
	var out []backend.Resource
	for _, tag := range tags {
		desc, err := remote.Get(r.Tag(tag), opts...)
		if err != nil {
			if statusOf(err) == http.StatusNotFound {
				continue // deleted since the list
			}
			return out, fmt.Errorf("read %s: %w", r.Tag(tag), err)
		}
		digest := r.Digest(desc.Digest.String())
		if seen[digest.String()] {
			continue
		}
		seen[digest.String()] = true
		img, err := desc.Image()
		if err != nil {
			continue // an index: bottle pushes single images only
		}
		cfg, err := img.ConfigFile()
		if err != nil {
			return out, fmt.Errorf("read the config of %s: %w", r.Tag(tag), err)
		}
		labels := cfg.Config.Labels
		if labels[backend.LabelIdentity] != id {
			continue
		}
		out = append(out, backend.Resource{Kind: RegistryImageKind, ID: digest.String(), Name: r.Tag(tag).String(), Identity: id, Labels: labels})
	}
	return out, nil
}

// removeRegistryImage deletes a manifest (and so every tag of it) from the
// registry by digest. Its layers stay until the registry's own garbage
// collection (distribution: `registry garbage-collect`) reclaims them.
func (b *Backend) removeRegistryImage(ctx context.Context, r backend.Resource) error {
	ref, err := name.NewDigest(r.ID)
	if err != nil {
		return fmt.Errorf("remove %s: not an image reference by digest: %w", r.ID, err)
	}
	host, prefix := b.perBottleRepos()
	if ref.RegistryStr() != host || !strings.HasPrefix(ref.RepositoryStr(), prefix) {
		return fmt.Errorf("remove %s: not a per-bottle image of registry %s", r.ID, b.registry)
	}
	err = remote.Delete(ref, remote.WithContext(ctx))
	switch {
	case err == nil, statusOf(err) == http.StatusNotFound:
		return nil
	case statusOf(err) == http.StatusMethodNotAllowed:
		return fmt.Errorf("remove %s: registry %s does not allow deletes (distribution: set storage.delete.enabled: true): %w", r.Name, host, err)
	}
	return fmt.Errorf("remove %s: %w", r.Name, err)
}

// statusOf is the HTTP status of a registry error, 0 for other errors.
func statusOf(err error) int {
	var te *transport.Error
	if errors.As(err, &te) {
		return te.StatusCode
	}
	return 0
}
