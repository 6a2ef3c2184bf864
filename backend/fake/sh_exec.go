package fake

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"path"
	"strings"

	"github.com/bottle-dev/bottle/backend"
)

// shell is the state of one sh process: variables, working directory,
// positional parameters and the last status.
type shell struct {
	ctx    context.Context
	fs     *vfs
	vars   map[string]string
	cwd    string
	args   []string // $0, $1, ...
	status int
	// term returns the terminal size; nil when the bottle has no terminal.
	term func() backend.TermSize
}

// streams are a command's standard streams, and whether each is the
// bottle's terminal (test -t).
type streams struct {
	in            *bufio.Reader
	out, err      io.Writer
	inTTY, outTTY bool
	errTTY        bool
}

// exitError unwinds the shell on exit.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit %d", e.code) }

func newShell(ctx context.Context, v *vfs, env []string, cwd string) *shell {
	sh := &shell{ctx: ctx, fs: v, vars: map[string]string{}, cwd: cwd, args: []string{"sh"}}
	for _, kv := range env {
		if k, val, ok := strings.Cut(kv, "="); ok {
			sh.vars[k] = val
		}
	}
	if sh.cwd == "" {
		sh.cwd = "/"
	}
	return sh
}

// sub is a copy of the shell for a subshell, a command substitution or a
// pipeline stage.
func (sh *shell) sub() *shell {
	c := *sh
	c.vars = maps.Clone(sh.vars)
	return &c
}

func (sh *shell) abs(p string) string {
	if path.IsAbs(p) {
		return path.Clean(p)
	}
	return path.Join(sh.cwd, p)
}

// script runs src and returns its exit status.
func (sh *shell) script(src string, st streams) int {
	l, err := parse(src)
	if err != nil {
		fmt.Fprintf(st.err, "sh: %v\n", err)
		return 2
	}
	return sh.exitCode(sh.runList(l, st))
}

func (sh *shell) exitCode(err error) int {
	var ee exitError
	switch {
	case errors.As(err, &ee):
		return ee.code
	case err != nil:
		return 137 // killed: the context ended
	}
	return sh.status
}

func (sh *shell) runList(l *list, st streams) error {
	for _, ao := range l.items {
		if err := sh.ctx.Err(); err != nil {
			return err
		}
		if err := sh.runAndOr(ao, st); err != nil {
			return err
		}
	}
	return nil
}

func (sh *shell) runAndOr(ao *andOr, st streams) error {
	if err := sh.runPipeline(ao.pipes[0], st); err != nil {
		return err
	}
	for i, op := range ao.ops {
		if (op == tAnd) != (sh.status == 0) {
			continue
		}
		if err := sh.runPipeline(ao.pipes[i+1], st); err != nil {
			return err
		}
	}
	return nil
}

func (sh *shell) runPipeline(pl *pipeline, st streams) error {
	var err error
	if len(pl.cmds) == 1 {
		err = sh.runCommand(pl.cmds[0], st)
	} else {
		err = sh.runStages(pl.cmds, st)
	}
	if pl.neg && err == nil {
		sh.status = boolStatus(sh.status != 0)
	}
	return err
}

// runStages runs a pipeline's commands concurrently, each in a subshell,
// connected by pipes; the status is the last command's.
func (sh *shell) runStages(cmds []command, st streams) error {
	in := st.in
	var inPipe *io.PipeReader
	codes := make([]chan int, len(cmds))
	for i, c := range cmds {
		stage := st
		stage.in = in
		reads := inPipe
		var pw *io.PipeWriter
		if i < len(cmds)-1 {
			inPipe, pw = io.Pipe()
			stage.out, stage.outTTY = pw, false
			in = bufio.NewReader(inPipe)
		}
		if i > 0 {
			stage.inTTY = false
		}
		codes[i] = make(chan int, 1)
		go func() {
			s := sh.sub()
			code := s.exitCode(s.runCommand(c, stage))
			if pw != nil {
				pw.Close()
			}
			if reads != nil {
				// A stage that stops reading early must not block the
				// one writing to it.
				reads.CloseWithError(io.ErrClosedPipe)
			}
			codes[i] <- code
		}()
	}
	for i := range codes {
		sh.status = <-codes[i]
	}
	return sh.ctx.Err()
}

func boolStatus(ok bool) int {
	if ok {
		return 0
	}
	return 1
}

func (sh *shell) runCommand(c command, st streams) error {
	st, closers, err := sh.redirect(c.redirections(), st)
	if err != nil {
		fmt.Fprintf(st.err, "sh: %v\n", err)
		sh.status = 1
		return nil
	}
	defer func() {
		for _, cl := range closers {
			if cerr := cl(); cerr != nil {
				fmt.Fprintf(st.err, "sh: %v\n", cerr)
				sh.status = 1
			}
		}
	}()
	switch c := c.(type) {
	case *simpleCmd:
		return sh.runSimple(c, st)
	case *ifCmd:
		for i, cond := range c.conds {
			if err := sh.runList(cond, st); err != nil {
				return err
			}
			if sh.status == 0 {
				return sh.runList(c.bodies[i], st)
			}
		}
		sh.status = 0
		if c.els != nil {
			return sh.runList(c.els, st)
		}
	case *forCmd:
		items := sh.args[1:]
		if c.hasIn {
			items = nil
			for _, w := range c.items {
				fields, err := sh.expand(w, st)
				if err != nil {
					return err
				}
				items = append(items, fields...)
			}
		}
		sh.status = 0
		for _, it := range items {
			sh.vars[c.name] = it
			if err := sh.runList(c.body, st); err != nil {
				return err
			}
		}
	case *loopCmd:
		last := 0
		for {
			if err := sh.runList(c.cond, st); err != nil {
				return err
			}
			if (sh.status == 0) == c.until {
				break
			}
			if err := sh.runList(c.body, st); err != nil {
				return err
			}
			last = sh.status
		}
		sh.status = last
	case *groupCmd:
		if !c.subshell {
			return sh.runList(c.body, st)
		}
		s := sh.sub()
		sh.status = s.exitCode(s.runList(c.body, st))
		return sh.ctx.Err()
	}
	return nil
}

func (sh *shell) runSimple(c *simpleCmd, st streams) error {
	var argv []string
	for _, w := range c.args {
		fields, err := sh.expand(w, st)
		if err != nil {
			return err
		}
		argv = append(argv, fields...)
	}
	for _, a := range c.assigns {
		v, err := sh.expandOne(a.value, st)
		if err != nil {
			return err
		}
		sh.vars[a.name] = v
	}
	if len(argv) == 0 {
		return nil // the status is the last substitution's, or 0
	}
	code, err := sh.call(argv, st)
	sh.status = code
	return err
}
