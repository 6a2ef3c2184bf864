package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
)

// Labels on every container and volume the fake creates, so tests can
// remove them by data dir.
const (
	labelFake = "dev.bottle.fakesmolvm"
	labelRoot = "dev.bottle.fakesmolvm.root"
)

// keepAlive is the container's main process: the machine itself, which
// stays up whatever its workload does. docker-init (--init) reaps orphans.
const keepAlive = `trap 'exit 0' TERM INT; while :; do sleep 3600 & wait $!; done`

// docker runs the docker CLI and returns its stdout; errors carry stderr.
func docker(ctx context.Context, stdin io.Reader, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "docker", args...)
	cmd.Stdin = stdin
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("docker %s: %v: %s", args[0], err, strings.TrimSpace(errb.String()))
	}
	return out.String(), nil
}

// loadImage feeds a `docker save` archive to `docker load` and returns the
// loaded reference (a tag, or an image ID for untagged archives).
func loadImage(ctx context.Context, r io.Reader) (string, error) {
	out, err := docker(ctx, r, "load")
	if err != nil {
		return "", err
	}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if ref, ok := strings.CutPrefix(line, "Loaded image: "); ok {
			return ref, nil
		}
		if id, ok := strings.CutPrefix(line, "Loaded image ID: "); ok {
			return id, nil
		}
	}
	return "", fmt.Errorf("docker load printed no image: %q", out)
}

// imageConfig returns the image's ENTRYPOINT and CMD.
func imageConfig(ctx context.Context, ref string) (entry, cmd []string, err error) {
	out, err := docker(ctx, nil, "image", "inspect", "--format",
		"{{json .Config.Entrypoint}}\n{{json .Config.Cmd}}", ref)
	if err != nil {
		return nil, nil, err
	}
	parts := strings.SplitN(strings.TrimSpace(out), "\n", 2)
	if len(parts) == 2 {
		entry, cmd = parseJSONList(parts[0]), parseJSONList(parts[1])
	}
	return entry, cmd, nil
}

// createContainer makes the container that stands in for the machine's VM:
// tmpfs /tmp and /run (emptied by every stop, as in a real guest), the
// machine's env, workdir and mounts, and a disk-backed /workspace (a named
// volume, mounted without copying the image's content) that hides the
// image's own /workspace unless a -v targets /workspace.
func (a *app) createContainer(ctx context.Context, m *machine) error {
	c, vol := a.store.container(m.Name), a.store.volume(m.Name)
	labels := []string{"--label", labelFake + "=1", "--label", labelRoot + "=" + a.store.root}
	args := append([]string{"create", "--name", c, "--init", "--entrypoint", "/bin/sh",
		"--tmpfs", "/tmp:mode=1777", "--tmpfs", "/run:mode=755"}, labels...)
	if m.offline() && (len(m.Ports) == 0 || m.Network) {
		args = append(args, "--network", "none")
	}
	for _, e := range m.Env {
		args = append(args, "-e", e)
	}
	if m.Workdir != "" {
		args = append(args, "-w", m.Workdir)
	}
	ownWorkspace := true
	for _, mt := range m.Mounts {
		spec := mt.Host + ":" + mt.Guest
		if mt.ReadOnly {
			spec += ":ro"
		}
		args = append(args, "-v", spec)
		if mt.Guest == "/workspace" {
			ownWorkspace = false
		}
	}
	if ownWorkspace {
		if _, err := docker(ctx, nil, append([]string{"volume", "create"}, append(labels, vol)...)...); err != nil {
			return err
		}
		args = append(args, "--mount", "type=volume,src="+vol+",dst=/workspace,volume-nocopy=true")
	}
	args = append(args, m.DockerRef, "-c", keepAlive)
	_, err := docker(ctx, nil, args...)
	return err
}

// containerPIDs returns the host PID of every running container of this
// data dir, by container name.
func (a *app) containerPIDs(ctx context.Context) (map[string]int, error) {
	out, err := docker(ctx, nil, "ps", "-q", "--filter", "label="+labelRoot+"="+a.store.root)
	if err != nil {
		return nil, err
	}
	ids := strings.Fields(out)
	pids := map[string]int{}
	if len(ids) == 0 {
		return pids, nil
	}
	out, err = docker(ctx, nil, append([]string{"inspect", "--format",
		"{{.Name}} {{.State.Running}} {{.State.Pid}}"}, ids...)...)
	if err != nil {
		return nil, err
	}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Fields(line)
		if len(f) == 3 && f[1] == "true" {
			pid, _ := strconv.Atoi(f[2])
			pids[strings.TrimPrefix(f[0], "/")] = pid
		}
	}
	return pids, nil
}

// removeMachineResources deletes the container and workspace volume.
func (a *app) removeMachineResources(ctx context.Context, name string) {
	docker(ctx, nil, "rm", "-f", "-v", a.store.container(name))  //nolint:errcheck // may not exist
	docker(ctx, nil, "volume", "rm", "-f", a.store.volume(name)) //nolint:errcheck // may not exist
	os.RemoveAll(a.store.vmDir(name))                            //nolint:errcheck // best effort
}

// stdinIsTerminal reports whether f is a character device (a terminal).
func stdinIsTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
