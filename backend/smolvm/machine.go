package smolvm

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/bottle-dev/bottle/backend"
)

// Labels smolvm machines carry besides the backend.Label* ones.
const (
	// labelImage records the image the machine was created from (smolvm
	// itself only knows local:<sha256> for a handed-over archive).
	labelImage = "dev.bottle.image"
	// labelTTY records Spec.TTY for Run, which only gets the instance ID.
	labelTTY = "dev.bottle.tty"
)

// machineInfo is the subset of `machine ls --json` / `status --json` (one
// object per machine, reference §3.6) the backend reads. Unknown keys are
// ignored, so newer smolvm versions that add keys still parse.
type machineInfo struct {
	Name      string            `json:"name"`
	State     string            `json:"state"`
	PID       *int              `json:"pid"`
	Image     *string           `json:"image"`
	Ephemeral bool              `json:"ephemeral"`
	Network   bool              `json:"network"`
	Labels    map[string]string `json:"labels"`
	CreatedAt int64             `json:"created_at"`
}

func (m machineInfo) managed() bool {
	return !m.Ephemeral && m.Labels[backend.LabelManaged] == "true"
}

// status reads one machine with `machine status --name N --json`.
func (b *Backend) status(ctx context.Context, name string) (machineInfo, error) {
	var m machineInfo
	if err := checkID(name); err != nil {
		return m, err
	}
	res, err := b.must(ctx, call{args: []string{"machine", "status", "--name", name, "--json"}})
	if err != nil {
		return m, err
	}
	if err := json.Unmarshal(res.stdout, &m); err != nil {
		return m, fmt.Errorf("smolvm machine status --name %s --json: unexpected output: %w", name, err)
	}
	return m, nil
}

// machines reads every machine with `machine ls --json`.
func (b *Backend) machines(ctx context.Context) ([]machineInfo, error) {
	res, err := b.must(ctx, call{args: []string{"machine", "ls", "--json"}})
	if err != nil {
		return nil, err
	}
	var ms []machineInfo
	if err := json.Unmarshal(res.stdout, &ms); err != nil {
		return nil, fmt.Errorf("smolvm machine ls --json: unexpected output: %w", err)
	}
	return ms, nil
}

// instance turns a machine into an Instance. The machine only runs an inert
// workload, so for a running machine the agent's own state decides
// (created: not started yet; running; exited with its code), read from the
// guest. A stopped machine's agent has exited; its code is the one the host
// recorded, or 137 (killed) when none was.
func (b *Backend) instance(ctx context.Context, m machineInfo) (backend.Instance, error) {
	inst := backend.Instance{
		ID: m.Name, Name: m.Name, Labels: m.Labels,
		Identity: m.Labels[backend.LabelIdentity], Bottle: m.Labels[backend.LabelBottle],
		Agent: m.Labels[backend.LabelAgent], Image: m.Labels[labelImage],
		CreatedAt: time.Unix(m.CreatedAt, 0),
	}
	if inst.Image == "" && m.Image != nil {
		inst.Image = *m.Image
	}
	if inst.Labels == nil {
		inst.Labels = map[string]string{}
	}
	switch m.State {
	case "created":
		inst.State = backend.StateCreated
	case "running":
		st, err := b.agentState(ctx, m.Name)
		if err != nil {
			return inst, err
		}
		inst.State, inst.ExitCode = st.state, st.code
	case "unreachable", "frozen":
		inst.State = backend.StateRunning
	default: // stopped, failed
		inst.State, inst.ExitCode = backend.StateExited, b.hostExitCode(m.Name)
	}
	return inst, nil
}

// Inspect returns the instance's current state.
func (b *Backend) Inspect(ctx context.Context, id string) (backend.Instance, error) {
	m, err := b.status(ctx, id)
	if err != nil {
		return backend.Instance{}, err
	}
	return b.instance(ctx, m)
}

// List returns the bottle machines (managed label, not ephemeral) whose
// labels include all of match. Running machines are asked about their
// agent in parallel.
func (b *Backend) List(ctx context.Context, match map[string]string) ([]backend.Instance, error) {
	ms, err := b.machines(ctx)
	if err != nil {
		return nil, err
	}
	ms = slices.DeleteFunc(ms, func(m machineInfo) bool {
		if !m.managed() {
			return true
		}
		for k, v := range match {
			if m.Labels[k] != v {
				return true
			}
		}
		return false
	})
	out := make([]backend.Instance, len(ms))
	errs := make([]error, len(ms))
	sem := make(chan struct{}, listParallel)
	var wg sync.WaitGroup
	for i, m := range ms {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			out[i], errs[i] = b.instance(ctx, m)
		})
	}
	wg.Wait()
	var found []backend.Instance
	for i := range out {
		switch {
		case isNotFound(errs[i]): // removed since ls
		case errs[i] != nil:
			return nil, errs[i]
		default:
			found = append(found, out[i])
		}
	}
	return found, nil
}

// listParallel bounds the smolvm processes one List runs at once.
const listParallel = 8

// Leftovers lists every bottle machine as a "machine" resource: smolvm
// creates nothing else, so gc removes the machines of identities that have
// no state dir.
func (b *Backend) Leftovers(ctx context.Context) ([]backend.Resource, error) {
	ms, err := b.machines(ctx)
	if err != nil {
		return nil, err
	}
	var out []backend.Resource
	for _, m := range ms {
		if m.managed() {
			out = append(out, backend.Resource{Kind: "machine", ID: m.Name, Name: m.Name,
				Identity: m.Labels[backend.LabelIdentity], Labels: m.Labels})
		}
	}
	if b.images == nil {
		return out, nil
	}
	// The per-bottle images built for smolvm bottles live in the image
	// source's engine; they go with their identity like machines do.
	imgs, err := b.images.Leftovers(ctx)
	if err != nil {
		return nil, err
	}
	for _, r := range imgs {
		if r.Kind == "image" {
			out = append(out, r)
		}
	}
	return out, nil
}

// RemoveResource deletes a leftover machine like Remove, or a per-bottle
// image through the image source.
func (b *Backend) RemoveResource(ctx context.Context, r backend.Resource) error {
	switch {
	case r.Kind == "machine":
		return b.Remove(ctx, r.ID)
	case r.Kind == "image" && b.images != nil:
		return b.images.RemoveResource(ctx, r)
	}
	return fmt.Errorf("smolvm backend: cannot remove a %q resource", r.Kind)
}

// Halt stops the machine (the agent with it) and keeps it. Before that it
// records the agent's exit code on the host, since a stopped guest cannot
// be asked.
func (b *Backend) Halt(ctx context.Context, id string) error {
	m, err := b.status(ctx, id)
	if err != nil {
		return err
	}
	if m.State == "running" {
		if st, err := b.agentState(ctx, id); err == nil {
			switch st.state {
			case backend.StateExited:
				b.writeHostExit(id, st.code)
			case backend.StateRunning:
				b.writeHostExit(id, exitKilled)
			}
		}
	}
	_, err = b.must(ctx, call{args: []string{"machine", "stop", "--name", id}})
	return err
}

// Remove deletes the machine (always with -f: without it smolvm prompts,
// reads "no" from an empty stdin and exits 0 without deleting) and the
// identity's host files. A missing machine is not an error.
func (b *Backend) Remove(ctx context.Context, id string) error {
	if checkID(id) != nil {
		return nil
	}
	_, err := b.must(ctx, call{args: []string{"machine", "delete", "--name", id, "-f"}})
	if err != nil && !isNotFound(err) {
		return err
	}
	return b.removeHostDir(id)
}
