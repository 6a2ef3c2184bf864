package docker

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/network"

	"github.com/bottle-dev/bottle/backend"
)

// Inspect returns the container's current state; a missing container is an
// error wrapping backend.ErrNotFound.
func (b *Backend) Inspect(ctx context.Context, id string) (backend.Instance, error) {
	info, err := b.c.ContainerInspect(ctx, id)
	if err != nil {
		return backend.Instance{}, wrap(err, "inspect %s", id)
	}
	inst := backend.Instance{
		ID:   info.ID,
		Name: strings.TrimPrefix(info.Name, "/"),
	}
	if info.Config != nil {
		inst.Image = info.Config.Image
		setLabels(&inst, info.Config.Labels)
	}
	if info.State != nil {
		inst.State = state(string(info.State.Status))
		inst.ExitCode = info.State.ExitCode
	}
	// The engine writes RFC 3339; an unparsable time is left zero rather
	// than failing an otherwise useful inspect.
	inst.CreatedAt, _ = time.Parse(time.RFC3339Nano, info.Created)
	return inst, nil
}

func setLabels(inst *backend.Instance, labels map[string]string) {
	inst.Labels = labels
	inst.Identity = labels[backend.LabelIdentity]
	inst.Bottle = labels[backend.LabelBottle]
	inst.Agent = labels[backend.LabelAgent]
}

// state maps the engine's container status onto the three backend states: a
// paused or restarting agent is still running, a dead or half-removed one
// has exited.
func state(status string) backend.State {
	switch status {
	case "created":
		return backend.StateCreated
	case "running", "paused", "restarting":
		return backend.StateRunning
	default:
		return backend.StateExited
	}
}

// Halt ends the agent: SIGTERM, then SIGKILL after stopTimeout, and keeps
// the container. Halting a container that is not running is not an error.
func (b *Backend) Halt(ctx context.Context, id string) error {
	secs := int(stopTimeout / time.Second)
	return wrap(b.c.ContainerStop(ctx, id, container.StopOptions{Timeout: &secs}), "halt %s", id)
}

// ReadsHalted: CopyOut reads a halted container's filesystem as it is
// (backend.HaltedReader).
func (b *Backend) ReadsHalted() bool { return true }

// Remove force-removes the container and its network. Whatever is already
// gone counts as removed, so Remove can finish an interrupted teardown. The
// bottle's per-bottle image is kept (a resume needs it); Leftovers reports
// it once the identity has no state.
func (b *Backend) Remove(ctx context.Context, id string) error {
	networkName := ""
	info, err := b.c.ContainerInspect(ctx, id)
	switch {
	case err == nil:
		if info.Config != nil && info.Config.Labels[backend.LabelIdentity] != "" {
			networkName = backend.InstanceName(info.Config.Labels[backend.LabelIdentity])
		}
		err = b.c.ContainerRemove(ctx, info.ID, container.RemoveOptions{Force: true, RemoveVolumes: true})
		if isConflict(err) {
			// Another process (an approval tearing the bottle down while
			// its session ends) is removing it already: wait for that.
			err = b.waitRemoved(ctx, info.ID)
		}
		if err != nil && !isNotFound(err) {
			return wrap(err, "remove %s", id)
		}
	case isNotFound(err):
		// The container went first in an earlier, interrupted teardown; its
		// network has the same name as the container.
		if strings.HasPrefix(id, backend.InstanceName("")) {
			networkName = id
		}
	default:
		return wrap(err, "remove %s", id)
	}
	if networkName == "" {
		return nil
	}
	// The proxy is attached to the bottle's network: it goes first, once
	// a start still under way (a launch that failed before Create) ends.
	identity := strings.TrimPrefix(networkName, backend.InstanceName(""))
	if ps := b.starts.take(identity); ps != nil {
		_ = ps.wait(ctx)
	}
	if err := b.removeProxy(ctx, identity); err != nil {
		return err
	}
	return b.removeNetwork(ctx, networkName)
}

// waitRemoved blocks until the container is gone.
func (b *Backend) waitRemoved(ctx context.Context, id string) error {
	okC, errC := b.c.ContainerWait(ctx, id, container.WaitConditionRemoved)
	select {
	case <-okC:
		return nil
	case err := <-errC:
		if isNotFound(err) {
			return nil
		}
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// removeNetwork removes a bottle network by name, only when it carries the
// managed label: a name is not proof of ownership.
func (b *Backend) removeNetwork(ctx context.Context, name string) error {
	n, err := b.c.NetworkInspect(ctx, name, network.InspectOptions{})
	if isNotFound(err) {
		return nil
	}
	if err != nil {
		return wrap(err, "remove network %s", name)
	}
	if n.Labels[backend.LabelManaged] != "true" {
		return nil
	}
	if err := b.c.NetworkRemove(ctx, n.ID); err != nil && !isNotFound(err) {
		return wrap(err, "remove network %s", name)
	}
	return nil
}

// managedFilter matches managed resources carrying all of match's labels.
func managedFilter(match map[string]string) filters.Args {
	f := filters.NewArgs(filters.Arg("label", backend.LabelManaged+"=true"))
	for k, v := range match {
		f.Add("label", k+"="+v)
	}
	return f
}

// List returns the managed containers whose labels include all of match.
func (b *Backend) List(ctx context.Context, match map[string]string) ([]backend.Instance, error) {
	cs, err := b.c.ContainerList(ctx, container.ListOptions{All: true, Filters: managedFilter(match)})
	if err != nil {
		return nil, wrap(err, "list bottles")
	}
	out := make([]backend.Instance, 0, len(cs))
	for _, c := range cs {
		inst := backend.Instance{
			ID:        c.ID,
			Image:     c.Image,
			State:     state(string(c.State)),
			CreatedAt: time.Unix(c.Created, 0),
		}
		if len(c.Names) > 0 {
			inst.Name = strings.TrimPrefix(c.Names[0], "/")
		}
		setLabels(&inst, c.Labels)
		if inst.State == backend.StateExited {
			// The list has no exit code; only exited bottles pay for an
			// inspect. One removed meanwhile is simply not listed.
			full, err := b.Inspect(ctx, c.ID)
			if isNotFound(err) {
				continue
			}
			if err != nil {
				return nil, err
			}
			inst.ExitCode = full.ExitCode
		}
		out = append(out, inst)
	}
	return out, nil
}

// Leftovers lists managed networks and images that belong to an identity:
// bottle networks and per-bottle images. Content-hash agent images
// (buildctx.Tag) carry the managed label but no identity; they are a build
// cache shared by bottles, not anyone's leftovers, and are not listed.
func (b *Backend) Leftovers(ctx context.Context) ([]backend.Resource, error) {
	f := managedFilter(nil)
	f.Add("label", backend.LabelIdentity)
	nets, err := b.c.NetworkList(ctx, network.ListOptions{Filters: f})
	if err != nil {
		return nil, wrap(err, "list networks")
	}
	var out []backend.Resource
	for _, n := range nets {
		out = append(out, backend.Resource{Kind: "network", ID: n.ID, Name: n.Name, Identity: n.Labels[backend.LabelIdentity], Labels: n.Labels})
	}
	proxies, err := b.proxyLeftovers(ctx)
	if err != nil {
		return nil, err
	}
	out = append(out, proxies...)
	imgs, err := b.c.ImageList(ctx, image.ListOptions{Filters: f})
	if err != nil {
		return nil, wrap(err, "list images")
	}
	for _, im := range imgs {
		name := ""
		if len(im.RepoTags) > 0 {
			name = im.RepoTags[0]
		}
		out = append(out, backend.Resource{Kind: "image", ID: im.ID, Name: name, Identity: im.Labels[backend.LabelIdentity], Labels: im.Labels})
	}
	return out, nil
}

// RemoveResource deletes one leftover; one already gone counts as removed.
func (b *Backend) RemoveResource(ctx context.Context, r backend.Resource) error {
	var err error
	switch r.Kind {
	case "network":
		err = b.c.NetworkRemove(ctx, r.ID)
	case "image":
		// Force drops every tag of the image; PruneChildren its untagged
		// parents, so a per-bottle image leaves no dangling layers.
		_, err = b.c.ImageRemove(ctx, r.ID, image.RemoveOptions{Force: true, PruneChildren: true})
	case "container":
		err = b.c.ContainerRemove(ctx, r.ID, container.RemoveOptions{Force: true, RemoveVolumes: true})
	default:
		return fmt.Errorf("remove %s %s: unknown resource kind", r.Kind, r.ID)
	}
	if err != nil && !isNotFound(err) {
		return wrap(err, "remove %s %s", r.Kind, r.Name)
	}
	return nil
}
