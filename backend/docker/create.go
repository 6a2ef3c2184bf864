package docker

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/network"

	"github.com/bottle-dev/bottle/backend"
)

// Create makes the bottle's network and container (not started). A second
// Create of the same identity fails with an error wrapping
// backend.ErrConflict and leaves the first bottle untouched.
func (b *Backend) Create(ctx context.Context, spec backend.Spec) (backend.Instance, error) {
	if spec.Identity == "" {
		return backend.Instance{}, errors.New("create bottle: empty identity")
	}
	name := backend.InstanceName(spec.Identity)
	labels := specLabels(spec)
	created, err := b.ensureNetwork(ctx, name, !spec.Network, labels)
	if err != nil {
		return backend.Instance{}, err
	}
	var proxy *proxyStart
	if spec.Egress != nil {
		// The proxy (begun by PrepareNetwork, or here) starts while the
		// bottle's container is created, and Create returns only once it
		// serves with its policy: a bottle is never started with a way
		// out it should not have, nor without its only one. Remove takes
		// the proxy away with the bottle.
		if spec.Network {
			return backend.Instance{}, errors.New("create bottle: an egress policy needs Network false (the proxy is the way out)")
		}
		if proxy = b.starts.take(spec.Identity); proxy == nil {
			b.beginProxy(ctx, spec, name, labels, ready)
			proxy = b.starts.take(spec.Identity)
		}
	}
	cfg, host := containerConfig(spec, name, labels)
	resp, err := b.c.ContainerCreate(ctx, cfg, host, nil, nil, name)
	if proxy != nil {
		perr := proxy.wait(ctx)
		if perr != nil && err == nil {
			// Best effort: the proxy's error is the one to report, and
			// the runner's teardown removes whatever is left.
			_ = b.c.ContainerRemove(context.WithoutCancel(ctx), resp.ID, container.RemoveOptions{Force: true})
			return backend.Instance{}, perr
		}
	}
	if err != nil {
		// A conflict means another bottle of this identity exists, and the
		// network is its network: only remove a network made just now.
		if created {
			// Best effort: the create error is the one to report, and a
			// network left behind is found by Leftovers.
			_ = b.c.NetworkRemove(context.WithoutCancel(ctx), name)
		}
		return backend.Instance{}, wrap(err, "create container %s", name)
	}
	return b.Inspect(ctx, resp.ID)
}

// PrepareNetwork makes the bottle's network ahead of Create
// (backend.NetworkPreparer).
func (b *Backend) PrepareNetwork(ctx context.Context, spec backend.Spec) error {
	if spec.Identity == "" {
		return errors.New("prepare network: empty identity")
	}
	name, labels := backend.InstanceName(spec.Identity), specLabels(spec)
	if spec.Egress == nil || spec.Network {
		_, err := b.ensureNetwork(ctx, name, !spec.Network, labels)
		return err
	}
	// The proxy starts now, beside the bottle's network and while the
	// runner resolves the image; it joins the bottle's network once that
	// exists, and Create waits for it.
	netDone := make(chan struct{})
	var netErr error
	b.beginProxy(ctx, spec, name, labels, func() error {
		select {
		case <-netDone:
			return netErr
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	_, netErr = b.ensureNetwork(ctx, name, true, labels)
	close(netDone)
	return netErr
}

// ensureNetwork creates the bottle's network, or adopts one left by an
// earlier launch of the same identity (a crash between teardown steps) when
// it is managed, has the same identity and the same isolation. It reports
// whether it created the network.
func (b *Backend) ensureNetwork(ctx context.Context, name string, internal bool, labels map[string]string) (bool, error) {
	opts := network.CreateOptions{Driver: "bridge", Internal: internal, Labels: labels}
	if internal {
		// An internal network only stops forwarding: its bridge still has
		// the gateway address on the host, so every service the host
		// listens with would be one hop away. Without an address on the
		// bridge the host is not reachable at all; containers on the
		// network (the bottle and its egress proxy) still reach each other.
		opts.Options = map[string]string{"com.docker.network.bridge.inhibit_ipv4": "true"}
	}
	err := b.createNetwork(ctx, name, opts)
	if err == nil {
		return true, nil
	}
	// Engines before API 1.44 report a duplicate name as a conflict only
	// because the client sets CheckDuplicate for them.
	if !isConflict(err) {
		return false, err
	}
	existing, ierr := b.c.NetworkInspect(ctx, name, network.InspectOptions{})
	if ierr != nil {
		return false, err
	}
	ours := existing.Labels[backend.LabelManaged] == "true" &&
		existing.Labels[backend.LabelIdentity] == labels[backend.LabelIdentity]
	if !ours {
		return false, fmt.Errorf("%w (it exists and is not this bottle's)", err)
	}
	if existing.Internal == internal {
		return false, nil
	}
	// The same identity with another network policy: never run a bottle on
	// a network more open than it asked for. Replace the network; the
	// engine refuses while a container still uses it, which is a conflict.
	if err := b.c.NetworkRemove(ctx, existing.ID); err != nil {
		return false, wrap(err, "replace network %s", name)
	}
	if err := b.createNetwork(ctx, name, opts); err != nil {
		return false, err
	}
	return true, nil
}

// containerConfig turns a spec into the engine's create request.
func containerConfig(spec backend.Spec, networkName string, labels map[string]string) (*container.Config, *container.HostConfig) {
	cfg := &container.Config{
		Image:      spec.Image,
		Cmd:        spec.Command,
		Env:        spec.Env,
		WorkingDir: spec.Workdir,
		User:       spec.User,
		Labels:     labels,
		Tty:        spec.TTY,
		OpenStdin:  spec.OpenStdin,
		// Close the agent's stdin when the attached client closes its
		// side, as `docker run -i` does, so that an agent reading stdin
		// sees EOF instead of hanging.
		StdinOnce:    spec.OpenStdin,
		AttachStdin:  spec.OpenStdin,
		AttachStdout: true,
		AttachStderr: true,
	}
	initProcess := true
	host := &container.HostConfig{
		NetworkMode: container.NetworkMode(networkName),
		// An init as PID 1 forwards SIGTERM to the agent and reaps its
		// zombies: a shell or node as PID 1 ignores SIGTERM and would make
		// every Halt wait for the full timeout.
		Init: &initProcess,
		Resources: container.Resources{
			NanoCPUs: int64(spec.CPUs * 1e9),
			Memory:   spec.MemoryBytes,
		},
	}
	harden(host, spec.Security)
	for _, m := range spec.Mounts {
		host.Mounts = append(host.Mounts, mount.Mount{
			Type:     mount.TypeBind,
			Source:   m.Source,
			Target:   m.Target,
			ReadOnly: m.ReadOnly,
		})
	}
	return cfg, host
}

// stopTimeout is how long Halt lets the agent shut down after SIGTERM
// before the engine kills it: short, because teardown (Ctrl-C, approval)
// must finish within seconds and the transcript is already snapshotted.
const stopTimeout = 3 * time.Second

// Start starts the agent detached.
func (b *Backend) Start(ctx context.Context, id string) error {
	return wrap(b.c.ContainerStart(ctx, id, container.StartOptions{}), "start %s", id)
}

// waitResult reads the outcome of a ContainerWait.
func waitResult(ctx context.Context, id string, waitC <-chan container.WaitResponse, errC <-chan error) (int, error) {
	select {
	case res := <-waitC:
		if res.Error != nil && res.Error.Message != "" {
			return -1, fmt.Errorf("wait %s: %s", id, res.Error.Message)
		}
		return int(res.StatusCode), nil
	case err := <-errC:
		if ctx.Err() != nil {
			return -1, ctx.Err()
		}
		return -1, wrap(err, "wait %s", id)
	case <-ctx.Done():
		return -1, ctx.Err()
	}
}
