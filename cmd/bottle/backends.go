package main

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"

	"github.com/bottle-dev/bottle/backend"
	"github.com/bottle-dev/bottle/backend/docker"
	"github.com/bottle-dev/bottle/backend/smolvm"
	"github.com/bottle-dev/bottle/runner/state"
)

// backends builds each backend at most once per invocation. cmd is the only
// place that knows the concrete backends.
type backends struct {
	getenv func(string) string
	mu     sync.Mutex
	docker *docker.Backend
	smol   *smolvm.Backend
}

func newBackends(getenv func(string) string) *backends {
	return &backends{getenv: getenv}
}

func (b *backends) get(name string) (backend.Backend, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch name {
	case backend.Docker, "":
		return b.dockerLocked()
	case backend.Smolmachines:
		if b.smol == nil {
			d, err := b.dockerLocked()
			if err != nil {
				return nil, err
			}
			opts := smolvm.Options{Binary: b.getenv("BOTTLE_SMOLVM"), Images: d}
			if home, err := state.HomeFromEnv(b.getenv); err == nil {
				// Host-side logs of smolvm runs live with bottle's own state.
				opts.DataDir = filepath.Join(home.Path, "smolvm")
			}
			s, err := smolvm.New(opts)
			if err != nil {
				return nil, err
			}
			b.smol = s
		}
		return b.smol, nil
	}
	return nil, fmt.Errorf("unknown backend %q: use %q or %q", name, backend.Docker, backend.Smolmachines)
}

func (b *backends) dockerLocked() (*docker.Backend, error) {
	if b.docker == nil {
		d, err := docker.New(context.Background())
		if err != nil {
			return nil, fmt.Errorf("docker: %w", err)
		}
		if v := b.getenv(docker.SubnetPoolEnv); v != "" {
			pool, err := docker.ParseSubnetPool(v)
			if err != nil {
				return nil, err
			}
			d.SetSubnetPool(pool)
		}
		configureProxy(d, b.getenv)
		b.docker = d
	}
	return b.docker, nil
}
