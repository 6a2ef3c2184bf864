package main

import (
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
	streaming := p.bools["stream"] && !interactive && !p.bools["tty"]
	if interactive || streaming {
		dargs = append(dargs, "-i")
	}
	// docker refuses -t without a terminal on stdin; the real CLI allocates
	// a guest PTY regardless, which only matters for terminal programs.
	if p.bools["tty"] && stdinIsTerminal(a.stdin) {
		dargs = append(dargs, "-t")
	}
	// The tag in the command's environment, which its children inherit,
	// lets a timeout or an output cap kill the guest's whole process tree,
	// not only the docker client.
	tag := shortID() + shortID()
	dargs = append(dargs, "-e", execTagVar+"="+tag)
	cmd := exec.Command("docker", append(append(dargs, c), p.argv...)...)
	sv := &supervisor{ctx: ctx, cmd: cmd, container: c, tag: tag, timeout: timeout, limit: make(chan string, 1)}
	mib := a.mib()
	switch {
	case interactive || p.bools["tty"]:
		// -i/-t: stdin forwarded (EOF when ours ends), no output cap.
		cmd.Stdout, cmd.Stderr = a.stdout, a.stderr
		if interactive {
			cmd.Stdin = a.stdin
		}
		return sv.wait()
	case streaming:
		return a.execStream(sv, streamTotalMiB*mib)
	}
	return a.execBuffered(sv, bufferedStreamMiB*mib, bufferedTotalMiB*mib)
}

// execStream is --stream: output relayed as it comes until streamMax
// bytes; the guest's stdin is a pipe that is never written or closed, so a
// command that reads it waits forever, as on the real CLI.
func (a *app) execStream(sv *supervisor, streamMax int) (int, error) {
	pr, pw, err := os.Pipe()
	if err != nil {
		return 0, err
	}
	defer pr.Close()
	defer pw.Close()
	sv.cmd.Stdin = pr
	sc := &streamCap{max: streamMax, onCap: func() { sv.limit <- "KILL" }}
	sv.cmd.Stdout, sv.cmd.Stderr = sc.writer(a.stdout), sc.writer(a.stderr)
	code, err := sv.wait()
	if sc.reached() {
		fmt.Fprint(a.stderr, streamCapError(streamMax))
		return 1, nil
	}
	return code, err
}

// execBuffered is the default mode: when the command ends, all its
// stdout, then all its stderr. Past perStream bytes on either stream the
// command is killed with SIGPIPE (exit 141); past total bytes on both
// streams the exec fails instead.
func (a *app) execBuffered(sv *supervisor, perStream, total int) (int, error) {
	onOver := func() {
		select {
		case sv.limit <- "PIPE":
		default:
		}
	}
	out := &capBuffer{max: perStream, onOver: onOver}
	errb := &capBuffer{max: perStream, onOver: onOver}
	sv.cmd.Stdout, sv.cmd.Stderr = out, errb
	code, err := sv.wait()
	if err != nil {
		return 0, err
	}
	if n := len(out.bytes()) + len(errb.bytes()); n > total {
		return 0, tooLargeError(n, total)
	}
	a.stdout.Write(out.bytes())  //nolint:errcheck // nothing to do about a closed stdout
	a.stderr.Write(errb.bytes()) //nolint:errcheck // nor stderr
	if code != timeoutExit && (out.overflowed() || errb.overflowed()) {
		return sigpipeExit, nil
	}
	return code, nil
}

// execTagVar is the environment variable that tags one exec's processes.
const execTagVar = "FAKESMOLVM_EXEC"

// supervisor runs one docker exec and ends it early on --timeout (exit
// 124) or when an output cap sends on limit the signal that kills the
// guest command.
type supervisor struct {
	ctx       context.Context
	cmd       *exec.Cmd
	container string
	tag       string
	timeout   time.Duration
	limit     chan string
}

// wait runs the command and returns its exit code (124 on timeout, 141
// when a cap killed it).
func (s *supervisor) wait() (int, error) {
	if err := s.cmd.Start(); err != nil {
		return 0, fmt.Errorf("agent operation failed: exec: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- s.cmd.Wait() }()
	var expired <-chan time.Time
	if s.timeout > 0 {
		t := time.NewTimer(s.timeout)
		defer t.Stop()
		expired = t.C
	}
	select {
	case err := <-done:
		code, _, err := exitCode(err)
		return code, err
	case <-expired:
		s.kill("KILL", done)
		return timeoutExit, nil
	case sig := <-s.limit:
		s.kill(sig, done)
		return sigpipeExit, nil
	}
}

// killTagged signals every guest process whose environment holds the tag.
const killTagged = `for p in /proc/[0-9]*; do
	grep -q "$1" "$p/environ" 2>/dev/null && kill -"$2" "${p#/proc/}" 2>/dev/null
done; :`

// kill signals the guest's processes of this exec and the docker client,
// and waits for the client to end.
func (s *supervisor) kill(sig string, done <-chan error) {
	docker(s.ctx, nil, "exec", s.container, "sh", "-c", killTagged, "sh", //nolint:errcheck // they may have just ended
		execTagVar+"="+s.tag, sig)
	s.cmd.Process.Kill() //nolint:errcheck // likewise
	<-done
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
