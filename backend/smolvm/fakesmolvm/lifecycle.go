package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

func (a *app) start(ctx context.Context, p *args) error {
	name := nameOr(p, "default")
	return a.store.locked(true, func(d *db) error {
		m := d.Machines[name]
		if m == nil {
			if p.value("name") != "" {
				return notFound(name)
			}
			// Without --name and no default record, smolvm boots a bare one.
			m = &machine{Name: name, State: "created", CPUs: 4, MemMiB: 8192,
				Labels: map[string]string{}, CreatedAt: time.Now().Unix()}
			if err := a.resolveImage(ctx, m, ""); err != nil {
				return err
			}
			d.Machines[name] = m
		}
		pids, err := a.containerPIDs(ctx)
		if err != nil {
			return err
		}
		if pid, ok := pids[a.store.container(name)]; ok && m.State == "running" {
			fmt.Fprintf(a.stdout, "Machine '%s' already running (PID: %d)\n", name, pid)
			return nil
		}
		var with string
		if n := len(m.Mounts); n > 0 {
			with = fmt.Sprintf(" with %d mount(s)", n)
		}
		if n := len(m.Ports); n > 0 {
			with += fmt.Sprintf(" and %d port mapping(s)", n)
		}
		fmt.Fprintf(a.stderr, "Starting machine '%s'%s...\n", name, with)
		if err := a.boot(ctx, m); err != nil {
			return err
		}
		m.State = "running"
		if pids, err = a.containerPIDs(ctx); err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "Machine '%s' running (PID: %d)\n", name, pids[a.store.container(name)])
		return nil
	})
}

// boot powers the machine on: creates its container on first use (after a
// "pull" for registry images), runs init on the first successful start and
// launches the workload detached.
func (a *app) boot(ctx context.Context, m *machine) error {
	c := a.store.container(m.Name)
	_, inspectErr := docker(ctx, nil, "container", "inspect", c)
	fresh := inspectErr != nil
	if fresh {
		if !strings.HasPrefix(m.Image, "local:") && m.Image != "" {
			fmt.Fprintf(a.stderr, "Pulling image %s...\n", m.Image)
		}
		entry, cmd, err := imageConfig(ctx, m.DockerRef)
		if err != nil {
			return fmt.Errorf("image pull failed: %s: %v", m.DockerRef, err)
		}
		m.Entry, m.Cmd = entry, cmd
		if err := a.createContainer(ctx, m); err != nil {
			return err
		}
	}
	if _, err := docker(ctx, nil, "start", c); err != nil {
		return err
	}
	if fresh {
		// A fresh guest /workspace is an empty directory any user may write.
		docker(ctx, nil, "exec", "-u", "0", c, "chmod", "0777", "/workspace") //nolint:errcheck // a -v may own it
	}
	os.WriteFile(filepath.Join(a.store.vmDir(m.Name), "agent-console.log"), //nolint:errcheck // cosmetic
		[]byte(`{"msg":"fakesmolvm agent ready"}`+"\n"), 0o644)
	switch {
	case m.InitDone && len(m.Init) > 0:
		fmt.Fprintf(a.stderr, "Init already completed, skipping %d command(s)\n", len(m.Init))
	case !m.InitDone:
		for i, cmd := range m.Init {
			if out, err := docker(ctx, nil, "exec", c, "sh", "-c", cmd); err != nil {
				docker(ctx, nil, "stop", "-t", "1", c) //nolint:errcheck // best effort
				return fmt.Errorf("init[%d] failed (exit 1): %v %s", i, err, strings.TrimSpace(out))
			}
		}
		m.InitDone = true
	}
	workload := m.Workload
	if len(workload) == 0 && m.Image != "" {
		workload = append(append([]string{}, m.Entry...), m.Cmd...)
	}
	if len(workload) > 0 {
		if _, err := docker(ctx, nil, append([]string{"exec", "-d", c}, workload...)...); err != nil {
			return fmt.Errorf("agent operation failed: launch workload: %v", err)
		}
	}
	return nil
}

func (a *app) stop(ctx context.Context, p *args) error {
	name := nameOr(p, "default")
	return a.store.locked(true, func(d *db) error {
		m := d.Machines[name]
		if m == nil {
			return notFound(name)
		}
		state, _, err := a.liveState(ctx, m)
		if err != nil {
			return err
		}
		if state != "running" {
			fmt.Fprintf(a.stdout, "Machine '%s' is not running (state: %s)\n", name, state)
			m.State = state
			return nil
		}
		fmt.Fprintf(a.stdout, "Stopping machine '%s'...\n", name)
		if _, err := docker(ctx, nil, "stop", "-t", "2", a.store.container(name)); err != nil {
			return err
		}
		m.State = "stopped"
		fmt.Fprintf(a.stdout, "Stopped machine: %s\n", name)
		return nil
	})
}

// liveState probes the container the way smolvm probes its VMM: a record
// left "running" whose VM is gone reads "stopped".
func (a *app) liveState(ctx context.Context, m *machine) (string, int, error) {
	if m.State != "running" {
		return m.State, 0, nil
	}
	pids, err := a.containerPIDs(ctx)
	if err != nil {
		return "", 0, err
	}
	if pid, ok := pids[a.store.container(m.Name)]; ok {
		return "running", pid, nil
	}
	return "stopped", 0, nil
}

func (a *app) delete(ctx context.Context, p *args) error {
	name := nameOr(p, "default")
	force := p.bools["force"]
	if !force {
		// As issue 5 records for 1.9.x: without -f the machine is stopped,
		// then the prompt is answered; only y/yes deletes.
		if err := a.store.locked(true, func(d *db) error {
			m := d.Machines[name]
			if m == nil {
				return notFound(name)
			}
			if state, _, err := a.liveState(ctx, m); err != nil || state != "running" {
				return err
			}
			fmt.Fprintf(a.stdout, "Stopping machine '%s'...\n", name)
			_, err := docker(ctx, nil, "stop", "-t", "2", a.store.container(name))
			m.State = "stopped"
			return err
		}); err != nil {
			return err
		}
		fmt.Fprintf(a.stderr, "Delete machine '%s'? This removes its disks. [y/N]: ", name)
		line, _ := bufio.NewReader(a.stdin).ReadString('\n')
		if ans := strings.ToLower(strings.TrimSpace(line)); ans != "y" && ans != "yes" {
			fmt.Fprintln(a.stdout, "Cancelled")
			return nil
		}
	}
	return a.store.locked(true, func(d *db) error {
		m := d.Machines[name]
		if m == nil {
			return notFound(name)
		}
		if state, _, _ := a.liveState(ctx, m); state == "running" {
			fmt.Fprintf(a.stdout, "Stopping machine '%s'...\n", name)
		}
		a.removeMachineResources(ctx, name)
		fmt.Fprintf(a.stdout, "Cleaning up data directory for vm: %s\n", name)
		delete(d.Machines, name)
		fmt.Fprintf(a.stdout, "Deleted machine: %s\n", name)
		return nil
	})
}

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
	pids, err := a.containerPIDs(ctx)
	if err != nil {
		return err
	}
	i := a.info(m, pids)
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
	pids, err := a.containerPIDs(ctx)
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
