package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
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
		state, pid, err := a.liveState(ctx, m)
		if err != nil {
			return err
		}
		if state == "running" {
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
		if _, pid, err = a.liveState(ctx, m); err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "Machine '%s' running (PID: %d)\n", name, pid)
		return nil
	})
}

// boot powers the machine on: creates its container on first use (after a
// "pull" for registry images), runs init on the first successful start and
// launches the workload detached.
func (a *app) boot(ctx context.Context, m *machine) error {
	// FAKESMOLVM_KVM=missing|denied stands for a host without usable KVM.
	switch a.env("FAKESMOLVM_KVM") {
	case "missing":
		return errors.New("kvm not available: /dev/kvm does not exist; enable (nested) virtualization")
	case "denied":
		return errors.New("kvm permission denied: open /dev/kvm: add your user to the kvm group")
	}
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
	out, err := docker(ctx, nil, "container", "inspect", "--format", "{{.State.Running}} {{.State.Pid}}",
		a.store.container(m.Name))
	var pid int
	if _, serr := fmt.Sscanf(out, "true %d", &pid); err == nil && serr == nil {
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
