package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"
)

// timeoutExit is the code smolvm reports when --timeout kills the command.
const timeoutExit = 124

func (a *app) exec(ctx context.Context, p *args) (int, error) {
	if len(p.argv) == 0 {
		return 0, &usageError{msg: "the following required arguments were not provided:\n  <COMMAND>...",
			usage: specs["exec"].usage}
	}
	timeout, err := parseTimeout(p.value("timeout"))
	if err != nil {
		return 0, err
	}
	name := nameOr(p, "default")
	m, err := a.store.get(name)
	if err != nil {
		return 0, err
	}
	if m == nil {
		return 0, notFound(name)
	}
	state, _, err := a.liveState(ctx, m)
	if err != nil {
		return 0, err
	}
	if state != "running" {
		return 0, notRunning(name)
	}
	c := a.store.container(name)
	dargs := []string{"exec"}
	env := a.envPairs(p.values["env"])
	for _, s := range p.values["secret-env"] {
		if g, hostVar, ok := strings.Cut(s, "="); ok {
			env = append(env, g+"="+a.env(hostVar))
		}
	}
	for _, s := range p.values["secret-file"] {
		if g, path, ok := strings.Cut(s, "="); ok {
			b, err := os.ReadFile(path)
			if err != nil {
				return 0, fmt.Errorf("secret file not readable: %s", path)
			}
			env = append(env, g+"="+string(b))
		}
	}
	for _, e := range env {
		dargs = append(dargs, "-e", e)
	}
	if wd := p.value("workdir"); wd != "" {
		dargs = append(dargs, "-w", wd)
	}
	if p.bools["detach"] {
		// Background the command inside the guest and report its PID.
		out, err := docker(ctx, nil, append(append(dargs, c, "sh", "-c",
			`"$@" >/dev/null 2>&1 </dev/null & echo $!`, "sh"), p.argv...)...)
		if err != nil {
			return 0, fmt.Errorf("agent operation failed: exec: %v", err)
		}
		fmt.Fprintln(a.stdout, strings.TrimSpace(out))
		return 0, nil
	}
	interactive := p.bools["interactive"]
	if interactive {
		dargs = append(dargs, "-i")
	}
	// docker refuses -t without a terminal on stdin; the real CLI allocates
	// a guest PTY regardless, which only matters for terminal programs.
	if p.bools["tty"] && stdinIsTerminal(a.stdin) {
		dargs = append(dargs, "-t")
	}
	argv := p.argv
	pidFile := "/tmp/.fakesmolvm-exec-" + shortID()
	if timeout > 0 {
		argv = append([]string{"sh", "-c", `echo $$ > "$0"; exec "$@"`, pidFile}, argv...)
	}
	cmd := exec.Command("docker", append(append(dargs, c), argv...)...)
	streaming := interactive || p.bools["tty"] || p.bools["stream"]
	var out, errb bytes.Buffer
	if streaming {
		cmd.Stdout, cmd.Stderr = a.stdout, a.stderr
		if interactive {
			cmd.Stdin = a.stdin
		}
	} else {
		cmd.Stdout, cmd.Stderr = &out, &errb
	}
	code, timedOut, err := a.waitTimeout(ctx, cmd, timeout, c, pidFile)
	if !streaming {
		// Buffered mode: every stdout byte, then every stderr byte.
		a.stdout.Write(out.Bytes())  //nolint:errcheck // nothing to do about a closed stdout
		a.stderr.Write(errb.Bytes()) //nolint:errcheck // nor stderr
	}
	if timedOut {
		return timeoutExit, nil
	}
	return code, err
}

// waitTimeout runs cmd; when timeout passes it kills the guest process
// (whose PID the wrapper wrote to pidFile) and the docker client.
func (a *app) waitTimeout(ctx context.Context, cmd *exec.Cmd, timeout time.Duration, c, pidFile string) (int, bool, error) {
	if err := cmd.Start(); err != nil {
		return 0, false, fmt.Errorf("agent operation failed: exec: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var expired <-chan time.Time
	if timeout > 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		expired = t.C
	}
	select {
	case err := <-done:
		if timeout > 0 {
			docker(ctx, nil, "exec", c, "rm", "-f", pidFile) //nolint:errcheck // cosmetic
		}
		return exitCode(err)
	case <-expired:
		docker(ctx, nil, "exec", c, "sh", "-c", `kill -KILL "$(cat "$1")"; rm -f "$1"`, "sh", pidFile) //nolint:errcheck // it may have just ended
		cmd.Process.Kill()                                                                             //nolint:errcheck // likewise
		<-done
		return 0, true, nil
	}
}

func exitCode(err error) (int, bool, error) {
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, false, nil
	case errors.As(err, &ee):
		return ee.ExitCode(), false, nil
	default:
		return 0, false, fmt.Errorf("agent operation failed: exec: %v", err)
	}
}

func parseTimeout(v string) (time.Duration, error) {
	if v == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, &usageError{msg: fmt.Sprintf("invalid value '%s' for '--timeout <TIMEOUT>': expected a positive duration such as 30s", v),
			usage: specs["exec"].usage}
	}
	return d, nil
}

// cp copies one regular file between the host and a running machine;
// whichever side holds "NAME:" is the guest (the source is checked first).
func (a *app) cp(ctx context.Context, p *args) error {
	src, dst := p.pos[0], p.pos[1]
	vm, guest, download := strings.Cut(src, ":")
	local := dst
	if !download {
		var ok bool
		if vm, guest, ok = strings.Cut(dst, ":"); !ok {
			return errors.New("invalid copy: one side must be NAME:/guest/path")
		}
		local = src
	}
	if download && (p.has("mode") || p.has("uid") || p.has("gid")) {
		return errors.New("invalid copy: --mode, --uid and --gid apply to uploads only")
	}
	m, err := a.store.get(vm)
	if err != nil {
		return err
	}
	if m == nil {
		return notFound(vm)
	}
	if state, _, err := a.liveState(ctx, m); err != nil || state != "running" {
		if err != nil {
			return err
		}
		return notRunning(vm)
	}
	c := a.store.container(vm)
	if download {
		out, err := docker(ctx, nil, "exec", c, "sh", "-c", `test -f "$1" && cat "$1"`, "sh", guest)
		if err != nil {
			return fmt.Errorf("agent operation failed: read file: %s is not a regular file", guest)
		}
		if err := os.WriteFile(local, []byte(out), 0o644); err != nil {
			return err
		}
		fmt.Fprintf(a.stderr, "Downloaded %d bytes from %s:%s\n", len(out), vm, guest)
		return nil
	}
	f, err := os.Open(local)
	if err != nil {
		return fmt.Errorf("file not found: %s", local)
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
		return fmt.Errorf("invalid copy: %s is not a regular file (copy trees with tar through exec)", local)
	}
	mode, uid, gid := p.value("mode"), p.value("uid"), p.value("gid")
	if mode == "" {
		mode = "644"
	}
	if uid == "" {
		uid = "0"
	}
	if gid == "" {
		gid = "0"
	}
	n := &countReader{r: f}
	if _, err := docker(ctx, n, "exec", "-i", "-u", "0", c, "sh", "-c",
		`t="$1.cp-tmp" && cat > "$t" && chown "$2:$3" "$t" && chmod "$4" "$t" && mv "$t" "$1"`,
		"sh", guest, uid, gid, mode); err != nil {
		return fmt.Errorf("agent operation failed: write file: %v", err)
	}
	fmt.Fprintf(a.stderr, "Uploaded %d bytes to %s:%s\n", n.n, vm, guest)
	return nil
}

type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
