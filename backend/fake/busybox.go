package fake

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strconv"
	"strings"
	"time"

	"mvdan.cc/sh/v3/interp"
)

// appletFunc is one busybox-like command. It reads its streams and
// directory from the interpreter's handler context and returns nil or an
// interp.ExitStatus.
type appletFunc func(ctx context.Context, sh *shell, argv []string) error

// applet returns the command called name, or nil. Only what the tests'
// agents and Dockerfile RUN lines use is here; echo, printf, read, test,
// cd, pwd, exit and the rest are the interpreter's builtins.
func applet(name string) appletFunc {
	switch name {
	case "sh", "ash", "bash", "dash":
		return shApplet
	case "cat":
		return cat
	case "ls":
		return ls
	case "mkdir", "touch", "rm", "readlink", "chmod":
		return fileApplet
	case "sleep":
		return sleep
	case "seq":
		return seq
	case "stty":
		return stty
	}
	return nil
}

// fail prints "name: msg" on stderr and returns status 1.
func fail(ctx context.Context, name, format string, a ...any) error {
	fmt.Fprintf(interp.HandlerCtx(ctx).Stderr, name+": "+format+"\n", a...)
	return interp.ExitStatus(1)
}

func cat(ctx context.Context, sh *shell, argv []string) error {
	hc := interp.HandlerCtx(ctx)
	files := argv[1:]
	if len(files) == 0 {
		files = []string{"-"}
	}
	var code uint8
	for _, f := range files {
		if f == "-" {
			if _, err := io.Copy(hc.Stdout, hc.Stdin); err != nil {
				code = 1
			}
			continue
		}
		data, err := sh.fs.readFile(absIn(hc.Dir, f))
		if err != nil {
			fmt.Fprintf(hc.Stderr, "cat: can't open '%s': %v\n", f, describe(err))
			code = 1
			continue
		}
		hc.Stdout.Write(data) //nolint:errcheck // a closed stdout ends the reader, not cat's status
	}
	if code != 0 {
		return interp.ExitStatus(code)
	}
	return nil
}

// describe words an error the way a busybox tool prints it.
func describe(err error) string {
	err = underlying(err)
	if errors.Is(err, fs.ErrNotExist) {
		return "No such file or directory"
	}
	s := err.Error()
	return strings.ToUpper(s[:1]) + s[1:]
}

// splitFlags separates leading single-dash flags (as a set of letters)
// from operands.
func splitFlags(args []string) (map[rune]bool, []string) {
	flags := map[rune]bool{}
	for len(args) > 0 && len(args[0]) > 1 && args[0][0] == '-' {
		if args[0] == "--" {
			return flags, args[1:]
		}
		for _, r := range args[0][1:] {
			flags[r] = true
		}
		args = args[1:]
	}
	return flags, args
}

// fileApplet is mkdir [-p], touch, rm [-f] [-r], readlink and chmod with
// an octal mode or +x.
func fileApplet(ctx context.Context, sh *shell, argv []string) error {
	hc := interp.HandlerCtx(ctx)
	name := argv[0]
	flags, ops := splitFlags(argv[1:])
	if len(ops) == 0 || name == "chmod" && len(ops) < 2 {
		return fail(ctx, name, "missing operand")
	}
	abs := func(p string) string { return absIn(hc.Dir, p) }
	switch name {
	case "mkdir":
		for _, d := range ops {
			var err error
			if flags['p'] {
				err = sh.fs.mkdirAll(abs(d), 0o755, false)
			} else {
				err = sh.fs.mkdir(abs(d), 0o755, nil)
			}
			if err != nil {
				return fail(ctx, name, "can't create directory '%s': %v", d, describe(err))
			}
		}
	case "touch":
		for _, f := range ops {
			if err := sh.fs.touch(abs(f)); err != nil {
				return fail(ctx, name, "%s: %v", f, describe(err))
			}
		}
	case "rm":
		for _, f := range ops {
			err := sh.fs.remove(abs(f), flags['r'] || flags['R'])
			if err != nil && !(flags['f'] && errors.Is(err, fs.ErrNotExist)) {
				return fail(ctx, name, "can't remove '%s': %v", f, describe(err))
			}
		}
	case "readlink":
		fi, err := sh.fs.stat(abs(ops[0]), false)
		if err != nil || fi.Mode&fs.ModeSymlink == 0 {
			return interp.ExitStatus(1)
		}
		fmt.Fprintln(hc.Stdout, fi.Link)
	case "chmod":
		for _, f := range ops[1:] {
			fi, err := sh.fs.stat(abs(f), true)
			if err == nil {
				mode := fi.Mode.Perm() | 0o111
				if ops[0] != "+x" {
					var n uint64
					n, err = strconv.ParseUint(ops[0], 8, 32)
					mode = fs.FileMode(n).Perm()
				}
				if err == nil {
					err = sh.fs.chmod(abs(f), mode)
				}
			}
			if err != nil {
				return fail(ctx, name, "%s: %v", f, describe(err))
			}
		}
	}
	return nil
}

// ls lists directories one name per line; -a and -A show dot files.
func ls(ctx context.Context, sh *shell, argv []string) error {
	hc := interp.HandlerCtx(ctx)
	flags, ops := splitFlags(argv[1:])
	if len(ops) == 0 {
		ops = []string{"."}
	}
	var code uint8
	for i, op := range ops {
		p := absIn(hc.Dir, op)
		fi, err := sh.fs.stat(p, true)
		if err == nil && !fi.Mode.IsDir() {
			fmt.Fprintln(hc.Stdout, op)
			continue
		}
		var entries []File
		if err == nil {
			entries, err = sh.fs.readDir(p)
		}
		if err != nil {
			fmt.Fprintf(hc.Stderr, "ls: %s: %v\n", op, describe(err))
			code = 1
			continue
		}
		if len(ops) > 1 {
			if i > 0 {
				fmt.Fprintln(hc.Stdout)
			}
			fmt.Fprintf(hc.Stdout, "%s:\n", op)
		}
		if flags['a'] {
			fmt.Fprintln(hc.Stdout, ".\n..")
		}
		for _, e := range entries {
			if !strings.HasPrefix(e.Path, ".") || flags['a'] || flags['A'] {
				fmt.Fprintln(hc.Stdout, e.Path)
			}
		}
	}
	if code != 0 {
		return interp.ExitStatus(code)
	}
	return nil
}

// sleep takes seconds, with an optional s, m or h suffix.
func sleep(ctx context.Context, _ *shell, argv []string) error {
	var total time.Duration
	for _, a := range argv[1:] {
		unit := time.Second
		switch {
		case strings.HasSuffix(a, "s"):
			a = strings.TrimSuffix(a, "s")
		case strings.HasSuffix(a, "m"):
			a, unit = strings.TrimSuffix(a, "m"), time.Minute
		case strings.HasSuffix(a, "h"):
			a, unit = strings.TrimSuffix(a, "h"), time.Hour
		}
		f, err := strconv.ParseFloat(a, 64)
		if err != nil || f < 0 {
			return fail(ctx, "sleep", "invalid number '%s'", a)
		}
		total += time.Duration(f * float64(unit))
	}
	t := time.NewTimer(total)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// seq is seq [-s SEP] [FIRST [INC]] LAST.
func seq(ctx context.Context, _ *shell, argv []string) error {
	args, sep := argv[1:], "\n"
	if len(args) > 1 && args[0] == "-s" {
		sep, args = args[1], args[2:]
	}
	nums := make([]int, 0, 3)
	for _, a := range args {
		n, err := strconv.Atoi(a)
		if err != nil {
			return fail(ctx, "seq", "invalid number '%s'", a)
		}
		nums = append(nums, n)
	}
	first, incr, last := 1, 1, 0
	switch len(nums) {
	case 1:
		last = nums[0]
	case 2:
		first, last = nums[0], nums[1]
	case 3:
		first, incr, last = nums[0], nums[1], nums[2]
	default:
		return fail(ctx, "seq", "usage: seq [-s SEP] [FIRST [INC]] LAST")
	}
	w := bufio.NewWriter(interp.HandlerCtx(ctx).Stdout)
	for i := first; incr != 0 && (incr > 0 && i <= last || incr < 0 && i >= last); i += incr {
		if i != first {
			w.WriteString(sep) //nolint:errcheck // reported by Flush
		}
		w.WriteString(strconv.Itoa(i)) //nolint:errcheck // reported by Flush
	}
	if incr != 0 && (incr > 0 && first <= last || incr < 0 && first >= last) {
		w.WriteString("\n") //nolint:errcheck // reported by Flush
	}
	if w.Flush() != nil {
		return interp.ExitStatus(1)
	}
	return nil
}

// stty prints the terminal's size for stty size; without a terminal it
// fails as stty does.
func stty(ctx context.Context, sh *shell, argv []string) error {
	if sh.term == nil {
		return fail(ctx, "stty", "standard input: Not a tty")
	}
	if len(argv) > 1 && argv[1] == "size" {
		ts := sh.term()
		fmt.Fprintf(interp.HandlerCtx(ctx).Stdout, "%d %d\n", ts.Rows, ts.Cols)
	}
	return nil
}
