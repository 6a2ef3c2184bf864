package main

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"text/tabwriter"
)

// info is one machine as `ls --json` / `status --json` print it (§3.6).
type info struct {
	Name              string            `json:"name"`
	State             string            `json:"state"`
	CPUs              int               `json:"cpus"`
	MemoryMiB         int               `json:"memory_mib"`
	PID               *int              `json:"pid"`
	Mounts            int               `json:"mounts"`
	Ports             int               `json:"ports"`
	CreatedAt         int64             `json:"created_at"`
	StorageGB         *int              `json:"storage_gb"`
	OverlayGB         *int              `json:"overlay_gb"`
	Image             *string           `json:"image"`
	Entrypoint        []string          `json:"entrypoint"`
	Cmd               []string          `json:"cmd"`
	Ephemeral         bool              `json:"ephemeral"`
	Network           bool              `json:"network"`
	Labels            map[string]string `json:"labels"`
	GPU               bool              `json:"gpu"`
	GPUVramMiB        *int              `json:"gpu_vram_mib"`
	CUDA              bool              `json:"cuda"`
	Forkable          bool              `json:"forkable"`
	ForkpointHeld     bool              `json:"forkpoint_held"`
	RestartPolicy     *string           `json:"restart_policy"`
	RestartMaxRetries *int              `json:"restart_max_retries"`
	RestartCount      int               `json:"restart_count"`
}

func (a *app) info(m *machine, pids map[string]int) info {
	i := info{Name: m.Name, State: m.State, CPUs: m.CPUs, MemoryMiB: m.MemMiB, Mounts: len(m.Mounts),
		Ports: len(m.Ports), CreatedAt: m.CreatedAt, StorageGB: m.StorageGB, OverlayGB: m.OverlayGB,
		Entrypoint: m.Entry, Cmd: m.Cmd, Ephemeral: m.Ephemeral, Network: m.Network, Labels: m.Labels}
	if len(m.Workload) > 0 {
		i.Cmd = m.Workload
	}
	if i.Entrypoint == nil {
		i.Entrypoint = []string{}
	}
	if i.Cmd == nil {
		i.Cmd = []string{}
	}
	if i.Labels == nil {
		i.Labels = map[string]string{}
	}
	if m.Image != "" {
		img := m.Image
		i.Image = &img
	}
	if m.State == "running" {
		if pid, ok := pids[a.store.container(m.Name)]; ok {
			i.PID = &pid
		} else {
			i.State = "stopped"
		}
	}
	return i
}

func (a *app) printJSON(v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(a.stdout, "%s\n", b)
	return err
}

func (a *app) status(ctx context.Context, p *args) error {
	name := nameOr(p, "default")
	m, err := a.store.get(name)
	if err != nil {
		return err
	}
	if m == nil {
		if p.bools["json"] {
			return fmt.Errorf("config operation failed: machine status: machine '%s' not found", name)
		}
		return notFound(name)
	}
	state, pid, err := a.liveState(ctx, m)
	if err != nil {
		return err
	}
	i := a.info(m, map[string]int{})
	if state == "running" {
		i.PID = &pid
	}
	i.State = state
	if p.bools["json"] {
		return a.printJSON(i)
	}
	if i.PID != nil {
		fmt.Fprintf(a.stdout, "Machine '%s': %s (PID: %d)\n", name, i.State, *i.PID)
	} else {
		fmt.Fprintf(a.stdout, "Machine '%s': %s\n", name, i.State)
	}
	return nil
}

func (a *app) list(ctx context.Context, p *args) error {
	var ms []*machine
	if err := a.store.locked(false, func(d *db) error {
		for _, m := range d.Machines {
			ms = append(ms, m)
		}
		return nil
	}); err != nil {
		return err
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Name < ms[j].Name })
	pids, err := a.pidsIfRunning(ctx, ms...)
	if err != nil {
		return err
	}
	infos := []info{}
	for _, m := range ms {
		infos = append(infos, a.info(m, pids))
	}
	if p.bools["json"] {
		return a.printJSON(infos)
	}
	if len(infos) == 0 {
		fmt.Fprintln(a.stdout, "No machines found")
		return nil
	}
	// The table truncates names, which is why callers must use --json.
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSTATE\tCPUS\tMEMORY\tMOUNTS\tPORTS\tSTORAGE\tOVERLAY")
	for _, i := range infos {
		n := i.Name
		if len(n) > 20 {
			n = n[:19] + "…"
		}
		if i.Ephemeral {
			n += " (eph)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d MiB\t%d\t%d\t%s\t%s\n", n, i.State, i.CPUs, i.MemoryMiB,
			i.Mounts, i.Ports, gb(i.StorageGB, 20), gb(i.OverlayGB, 10))
	}
	return tw.Flush()
}

func gb(v *int, def int) string {
	if v == nil {
		return fmt.Sprintf("%d GiB", def)
	}
	return fmt.Sprintf("%d GiB", *v)
}

func (a *app) dataDir(p *args) error {
	name := nameOr(p, "default")
	m, err := a.store.get(name)
	if err != nil {
		return err
	}
	if m == nil {
		return notFound(name)
	}
	fmt.Fprintln(a.stdout, a.store.vmDir(name))
	return nil
}

// pidsIfRunning asks Docker only when a record claims to be running, so
// that the commands that never touch a VM work without Docker.
func (a *app) pidsIfRunning(ctx context.Context, ms ...*machine) (map[string]int, error) {
	for _, m := range ms {
		if m.State == "running" {
			return a.containerPIDs(ctx)
		}
	}
	return map[string]int{}, nil
}
