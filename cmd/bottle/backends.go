package main

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"

	"github.com/bottle-dev/bottle/backend"
	"github.com/bottle-dev/bottle/backend/docker"
	"github.com/bottle-dev/bottle/backend/kubernetes"
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
	kube   map[string]*kubernetes.Backend // by locator
}

func newBackends(getenv func(string) string) *backends {
	return &backends{getenv: getenv}
}

func (b *backends) get(name string) (backend.Backend, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if opts, ok, err := kubernetes.ParseLocator(name); ok {
		if err != nil {
			return nil, fmt.Errorf("backend %q: %w", name, err)
		}
		return b.kubeLocked(name, opts)
	}
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
	return nil, fmt.Errorf("unknown backend %q: use %q, %q or %q", name, backend.Docker, backend.Smolmachines, backend.Kubernetes)
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
		if err := configureProxy(d, b.getenv); err != nil {
			return nil, err
		}
		b.docker = d
	}
	return b.docker, nil
}

// kubeLocked builds the kubernetes backend a locator names. What the
// locator leaves open comes from the environment that scripts/kube-up
// prints (or a user sets for their own cluster): KUBECONFIG and
// BOTTLE_KUBE_CONTEXT pick the cluster, BOTTLE_KUBE_NAMESPACE the
// namespace, BOTTLE_KUBE_REGISTRY where built images are pushed. Images
// are built by the local Docker engine, when there is one.
func (b *backends) kubeLocked(name string, opts kubernetes.Options) (*kubernetes.Backend, error) {
	if k, ok := b.kube[name]; ok {
		return k, nil
	}
	opts.Kubeconfig = b.getenv("KUBECONFIG")
	for _, f := range []struct {
		field *string
		env   string
	}{{&opts.Context, "BOTTLE_KUBE_CONTEXT"}, {&opts.Namespace, "BOTTLE_KUBE_NAMESPACE"}, {&opts.Registry, "BOTTLE_KUBE_REGISTRY"}} {
		if *f.field == "" {
			*f.field = b.getenv(f.env)
		}
	}
	if d, err := b.dockerLocked(); err == nil {
		opts.Images = d
	}
	k, err := kubernetes.New(opts)
	if err != nil {
		return nil, err
	}
	if b.kube == nil {
		b.kube = map[string]*kubernetes.Backend{}
	}
	b.kube[name] = k
	return k, nil
}
