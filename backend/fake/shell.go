package fake

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	"mvdan.cc/sh/v3/expand"
	"mvdan.cc/sh/v3/interp"
	"mvdan.cc/sh/v3/syntax"

	"github.com/bottle-dev/bottle/backend"
)

// defaultPath is PATH when the image sets none.
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// killedExit is a command's status when its context ended under it.
const killedExit = 137

// shell runs commands with mvdan.cc/sh's interpreter on an instance's (or
// an image's) in-memory file system: every file access of the
// interpreter goes through the handlers in shell_fs.go, and every command
// that is not a shell builtin is a busybox-like applet (busybox.go) or a
// shell script of the file system. No host program ever runs.
type shell struct {
	fs *vfs
	// term returns the terminal size; nil when there is no terminal. With
	// a terminal, test -t and stty see one on every descriptor.
	term func() backend.TermSize
}

// stdio are a command's standard streams.
type stdio struct {
	in       io.Reader
	out, err io.Writer
}

// runArgv runs argv as the main process or an exec would (no shell of its
// own unless argv[0] is one) and returns its exit status.
func (sh *shell) runArgv(ctx context.Context, argv, env []string, dir string, st stdio) int {
	// A one-command program of argv's words, each quoted: the command
	// runs as a shell would run it (builtin, applet or script).
	words := make([]string, len(argv))
	for i, a := range argv {
		q, err := syntax.Quote(a, syntax.LangBash)
		if err != nil {
			fmt.Fprintf(orDiscard(st.err), "sh: argument %d: %v\n", i, err)
			return 126
		}
		words[i] = q
	}
	return sh.script(ctx, []byte(strings.Join(words, " ")), "sh", nil, env, dir, st)
}

// script parses src and runs it in a new shell process whose $0 is name.
func (sh *shell) script(ctx context.Context, src []byte, name string, params []string, env []string, dir string, st stdio) int {
	if dir == "" {
		dir = "/"
	}
	file, err := syntax.NewParser().Parse(bytes.NewReader(src), name)
	if err != nil {
		fmt.Fprintf(orDiscard(st.err), "%s: %v\n", name, err)
		return 2
	}
	r, err := sh.runner(env, dir, st)
	if err != nil {
		fmt.Fprintf(orDiscard(st.err), "sh: %v\n", err)
		return 126
	}
	r.Params = params
	return status(ctx, r.Run(ctx, file))
}

// runner is an interpreter wired to the file system and the applets.
func (sh *shell) runner(env []string, dir string, st stdio) (*interp.Runner, error) {
	if !hasVar(env, "PATH") {
		env = append(env, "PATH="+defaultPath)
	}
	if !hasVar(env, "HOME") {
		env = append(env, "HOME=/")
	}
	opts := []interp.RunnerOption{
		interp.StdIO(orEmpty(st.in), orDiscard(st.out), orDiscard(st.err)),
		interp.Env(expand.ListEnviron(env...)),
		// interp.Dir would stat the host's path: the directory is the
		// guest's, and checked by cd through the stat handler.
		func(r *interp.Runner) error { r.Dir = dir; return nil },
		interp.OpenHandler(sh.open),
		interp.StatHandler(sh.stat),
		interp.ReadDirHandler2(sh.readDir),
		interp.AccessHandler(sh.access),
		interp.ExecHandlers(func(interp.ExecHandlerFunc) interp.ExecHandlerFunc { return sh.exec }),
	}
	if sh.term != nil {
		opts = append(opts, interp.CallHandler(ttyTest))
	}
	return interp.New(opts...)
}

// ttyTest answers test -t / [ -t ] for a bottle with a terminal, where
// every descriptor is that terminal; interp only knows real ones.
func ttyTest(_ context.Context, args []string) ([]string, error) {
	if (args[0] == "test" && len(args) == 3 || args[0] == "[" && len(args) == 4 && args[3] == "]") && args[1] == "-t" {
		return []string{"true"}, nil
	}
	return args, nil
}

// exec runs one command that is not a shell builtin: an applet, or an
// executable shell script of the file system found by path or on PATH.
func (sh *shell) exec(ctx context.Context, argv []string) error {
	hc := interp.HandlerCtx(ctx)
	name := argv[0]
	if !strings.Contains(name, "/") {
		if a := applet(name); a != nil {
			return a(ctx, sh, argv)
		}
		for _, dir := range strings.Split(hc.Env.Get("PATH").String(), ":") {
			p := path.Join(absIn(hc.Dir, dir), name)
			if fi, err := sh.fs.stat(p, true); err == nil && fi.Mode.IsRegular() {
				return sh.runFile(ctx, p, argv)
			}
		}
		fmt.Fprintf(hc.Stderr, "sh: %s: not found\n", name)
		return interp.ExitStatus(127)
	}
	p := absIn(hc.Dir, name)
	if _, err := sh.fs.stat(p, true); err != nil {
		// Busybox-style images have their tools at the usual paths.
		if a := applet(path.Base(name)); a != nil {
			return a(ctx, sh, argv)
		}
		fmt.Fprintf(hc.Stderr, "sh: %s: not found\n", name)
		return interp.ExitStatus(127)
	}
	return sh.runFile(ctx, p, argv)
}

// runFile runs the executable shell script p with argv's arguments.
func (sh *shell) runFile(ctx context.Context, p string, argv []string) error {
	hc := interp.HandlerCtx(ctx)
	fi, err := sh.fs.stat(p, true)
	if err != nil || fi.Mode.Perm()&0o111 == 0 || !fi.Mode.IsRegular() {
		fmt.Fprintf(hc.Stderr, "sh: %s: Permission denied\n", argv[0])
		return interp.ExitStatus(126)
	}
	data, err := sh.fs.readFile(p)
	if err != nil {
		fmt.Fprintf(hc.Stderr, "sh: %s: %v\n", argv[0], underlying(err))
		return interp.ExitStatus(126)
	}
	first, _, _ := bytes.Cut(data, []byte("\n"))
	interpreter := strings.Fields(strings.TrimPrefix(string(first), "#!"))
	if !bytes.HasPrefix(first, []byte("#!")) || len(interpreter) == 0 || !isShell(path.Base(interpreter[0])) {
		fmt.Fprintf(hc.Stderr, "sh: %s: exec format error (the fake runs only shell scripts)\n", argv[0])
		return interp.ExitStatus(126)
	}
	return sh.child(ctx, data, argv[0], argv[1:])
}

// child runs src as a new shell process with the caller's exported
// variables, directory and streams.
func (sh *shell) child(ctx context.Context, src []byte, name string, params []string) error {
	hc := interp.HandlerCtx(ctx)
	var env []string
	for k, v := range hc.Env.Each {
		if v.Exported && v.IsSet() {
			env = append(env, k+"="+v.String())
		}
	}
	code := sh.script(ctx, src, name, params, env, hc.Dir, stdio{in: hc.Stdin, out: hc.Stdout, err: hc.Stderr})
	if err := ctx.Err(); err != nil {
		return err
	}
	return exitStatus(code)
}

// exitStatus is what a handler returns for code: nil for success (interp
// refuses ExitStatus(0)).
func exitStatus(code int) error {
	if code == 0 {
		return nil
	}
	return interp.ExitStatus(uint8(code))
}

// shApplet is sh -c SCRIPT [NAME ARGS...], sh FILE ARGS..., or a script
// read from stdin; other options (-e, -x, ...) are accepted and ignored.
func shApplet(ctx context.Context, sh *shell, argv []string) error {
	hc := interp.HandlerCtx(ctx)
	args, command := argv[1:], false
	for len(args) > 0 && strings.HasPrefix(args[0], "-") && args[0] != "-" {
		command = command || strings.Contains(args[0], "c")
		args = args[1:]
	}
	switch {
	case command:
		if len(args) == 0 {
			fmt.Fprintln(hc.Stderr, "sh: -c requires an argument")
			return interp.ExitStatus(2)
		}
		name, params := "sh", []string(nil)
		if len(args) > 1 {
			name, params = args[1], args[2:]
		}
		return sh.child(ctx, []byte(args[0]), name, params)
	case len(args) > 0:
		data, err := sh.fs.readFile(absIn(hc.Dir, args[0]))
		if err != nil {
			fmt.Fprintf(hc.Stderr, "sh: can't open '%s': %v\n", args[0], describe(err))
			return interp.ExitStatus(2)
		}
		return sh.child(ctx, data, args[0], args[1:])
	}
	data, err := io.ReadAll(hc.Stdin)
	if err != nil {
		return interp.ExitStatus(2)
	}
	return sh.child(ctx, data, "sh", nil)
}

// status turns what the interpreter returned into an exit status.
func status(ctx context.Context, err error) int {
	var es interp.ExitStatus
	switch {
	case err == nil:
		return 0
	case errors.As(err, &es):
		return int(es)
	case ctx.Err() != nil:
		return killedExit
	}
	return 1
}

func isShell(name string) bool {
	return name == "sh" || name == "ash" || name == "bash" || name == "dash"
}

func hasVar(env []string, name string) bool {
	for _, kv := range env {
		if strings.HasPrefix(kv, name+"=") {
			return true
		}
	}
	return false
}

// absIn is p made absolute against dir.
func absIn(dir, p string) string {
	if path.IsAbs(p) {
		return path.Clean(p)
	}
	return path.Join(dir, p)
}

func orEmpty(r io.Reader) io.Reader {
	if r == nil {
		return strings.NewReader("")
	}
	return r
}

func orDiscard(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}
