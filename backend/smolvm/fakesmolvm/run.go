package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"time"
)

// runEphemeral is `machine run`: a throwaway machine that is listed
// (ephemeral: true) while it runs and leaves no record behind. With -d it
// becomes a persistent machine instead.
func (a *app) runEphemeral(ctx context.Context, p *args) (int, error) {
	if p.bools["detach"] {
		return 0, a.runDetached(ctx, p)
	}
	interactive, tty := p.bools["interactive"], p.bools["tty"]
	if len(p.argv) == 0 && !(interactive && tty) {
		return 0, &usageError{msg: "the following required arguments were not provided:\n  <COMMAND>...",
			usage: specs["run"].usage}
	}
	if p.value("image") == "-" && (interactive || tty) {
		return 0, errors.New("invalid argument: --image - reads the archive from stdin and cannot be combined with -i/-t")
	}
	timeout, err := parseTimeout(p.value("timeout"))
	if err != nil {
		return 0, err
	}
	m := &machine{Name: "vm-" + shortID(), Ephemeral: true, CreatedAt: time.Now().Unix()}
	if err := a.machineFlags(p, m, false); err != nil {
		return 0, err
	}
	if err := a.egressFlags(ctx, p, m); err != nil {
		return 0, err
	}
	img := p.value("image")
	if img != "" && !isLocalImage(img) && !m.Network {
		// run admits the image's registry for the pull only with a network path.
		return 0, fmt.Errorf("image '%s' must be pulled inside the machine: add --net or --allow-host", img)
	}
	if err := a.resolveImage(ctx, m, img); err != nil {
		return 0, err
	}
	m.State = "running"
	if err := a.store.locked(true, func(d *db) error { d.Machines[m.Name] = m; return nil }); err != nil {
		return 0, err
	}
	defer a.store.locked(true, func(d *db) error { delete(d.Machines, m.Name); return nil }) //nolint:errcheck // best effort
	fmt.Fprintf(a.stderr, "Starting ephemeral machine (%s)...\n", m.Name)

	c := a.store.container(m.Name)
	dargs := []string{"run", "--rm", "--init", "--name", c, "--label", labelFake + "=1",
		"--label", labelRoot + "=" + a.store.root, "--tmpfs", "/tmp:mode=1777", "--tmpfs", "/run:mode=755",
		"--mount", "type=volume,dst=/workspace,volume-nocopy=true"}
	if m.offline() {
		dargs = append(dargs, "--network", "none")
	}
	for _, e := range m.Env {
		dargs = append(dargs, "-e", e)
	}
	if m.Workdir != "" {
		dargs = append(dargs, "-w", m.Workdir)
	}
	for _, mt := range m.Mounts {
		spec := mt.Host + ":" + mt.Guest
		if mt.ReadOnly {
			spec += ":ro"
		}
		dargs = append(dargs, "-v", spec)
	}
	if interactive {
		dargs = append(dargs, "-i")
	}
	if tty && stdinIsTerminal(a.stdin) {
		dargs = append(dargs, "-t")
	}
	argv := p.argv
	if len(argv) == 0 {
		argv = []string{"/bin/sh"}
	}
	dargs = append(append(dargs, "--entrypoint", argv[0], m.DockerRef), argv[1:]...)
	cmd := exec.Command("docker", dargs...)
	var out, errb bytes.Buffer
	if interactive || tty {
		cmd.Stdin, cmd.Stdout, cmd.Stderr = a.stdin, a.stdout, a.stderr
	} else {
		cmd.Stdout, cmd.Stderr = &out, &errb
	}
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var expired <-chan time.Time
	if timeout > 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		expired = t.C
	}
	var code int
	select {
	case err = <-done:
		code, _, err = exitCode(err)
	case <-expired:
		docker(ctx, nil, "rm", "-f", c) //nolint:errcheck // tearing the VM down
		<-done
		code, err = timeoutExit, nil
	}
	a.stdout.Write(out.Bytes())  //nolint:errcheck // buffered mode: stdout first
	a.stderr.Write(errb.Bytes()) //nolint:errcheck // then stderr
	return code, err
}

// runDetached is `run -d`: create a persistent machine and start it.
func (a *app) runDetached(ctx context.Context, p *args) error {
	if p.value("name") == "" {
		p.values["name"] = []string{"vm-" + shortID()}
	}
	if err := a.create(ctx, p); err != nil {
		return err
	}
	return a.start(ctx, p)
}
