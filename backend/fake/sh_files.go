package fake

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"
)

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

// bFiles holds the commands that change files: mkdir, touch, rm,
// readlink, ln -s, mv, cp and chmod.
func bFiles(sh *shell, argv []string, st streams) (int, error) {
	name := argv[0]
	flags, ops := splitFlags(argv[1:])
	fail := func(format string, a ...any) (int, error) {
		fmt.Fprintf(st.err, name+": "+format+"\n", a...)
		return 1, nil
	}
	if len(ops) == 0 {
		return fail("missing operand")
	}
	switch name {
	case "mkdir":
		for _, d := range ops {
			var err error
			if flags['p'] {
				err = sh.fs.mkdirAll(sh.abs(d), 0o755, false)
			} else {
				err = sh.fs.mkdir(sh.abs(d), 0o755, nil)
			}
			if err != nil {
				return fail("can't create directory '%s': %v", d, describe(err))
			}
		}
	case "touch":
		for _, f := range ops {
			if err := sh.fs.touch(sh.abs(f)); err != nil {
				return fail("%s: %v", f, describe(err))
			}
		}
	case "rm":
		for _, f := range ops {
			err := sh.fs.remove(sh.abs(f), flags['r'] || flags['R'])
			if err != nil && !(flags['f'] && errors.Is(err, fs.ErrNotExist)) {
				return fail("can't remove '%s': %v", f, describe(err))
			}
		}
	case "readlink":
		fi, err := sh.fs.stat(sh.abs(ops[0]), false)
		if err != nil || fi.Mode&fs.ModeSymlink == 0 {
			return 1, nil
		}
		fmt.Fprintln(st.out, fi.Link)
	case "ln":
		if !flags['s'] || len(ops) != 2 {
			return fail("only ln -s TARGET LINK is supported")
		}
		link := sh.abs(ops[1])
		if flags['f'] {
			_ = sh.fs.remove(link, false)
		}
		if err := sh.fs.symlink(ops[0], link, nil); err != nil {
			return fail("%s: %v", ops[1], describe(err))
		}
	case "mv", "cp":
		return sh.moveOrCopy(name, ops, fail)
	case "chmod":
		if len(ops) < 2 {
			return fail("missing operand")
		}
		for _, f := range ops[1:] {
			p := sh.abs(f)
			fi, err := sh.fs.stat(p, true)
			if err == nil {
				var mode fs.FileMode
				if mode, err = chmodMode(ops[0], fi.Mode); err == nil {
					err = sh.fs.chmod(p, mode)
				}
			}
			if err != nil {
				return fail("%s: %v", f, describe(err))
			}
		}
	}
	return 0, nil
}

func (sh *shell) moveOrCopy(name string, ops []string, fail func(string, ...any) (int, error)) (int, error) {
	if len(ops) != 2 {
		return fail("need a source and a destination")
	}
	src, dst := sh.abs(ops[0]), sh.abs(ops[1])
	if fi, err := sh.fs.stat(dst, true); err == nil && fi.Mode.IsDir() {
		dst = path.Join(dst, path.Base(src))
	}
	if name == "mv" {
		if err := sh.fs.rename(src, dst); err != nil {
			return fail("can't rename '%s': %v", ops[0], describe(err))
		}
		return 0, nil
	}
	fi, err := sh.fs.stat(src, true)
	if err == nil && fi.Mode.IsDir() {
		return fail("'%s' is a directory (cp -r is not supported)", ops[0])
	}
	var data []byte
	if err == nil {
		data, err = sh.fs.readFile(src)
	}
	if err == nil {
		err = sh.fs.write(dst, data, writeOpts{perm: fi.Mode.Perm()})
	}
	if err != nil {
		return fail("can't copy '%s': %v", ops[0], describe(err))
	}
	return 0, nil
}

// chmodMode applies an octal mode or a symbolic one such as +x, u+x,
// go-w to cur.
func chmodMode(spec string, cur fs.FileMode) (fs.FileMode, error) {
	if n, err := strconv.ParseUint(spec, 8, 32); err == nil {
		return fs.FileMode(n) & fs.ModePerm, nil
	}
	mode := cur.Perm()
	for _, clause := range strings.Split(spec, ",") {
		i := strings.IndexAny(clause, "+-=")
		if i < 0 {
			return 0, fmt.Errorf("invalid mode '%s'", spec)
		}
		who, op, perms := clause[:i], clause[i], clause[i+1:]
		if who == "" || who == "a" {
			who = "ugo"
		}
		var bits fs.FileMode
		for _, w := range who {
			shift := map[rune]uint{'u': 6, 'g': 3, 'o': 0}[w]
			for _, p := range perms {
				bits |= map[rune]fs.FileMode{'r': 4, 'w': 2, 'x': 1}[p] << shift
			}
		}
		switch op {
		case '+':
			mode |= bits
		case '-':
			mode &^= bits
		case '=':
			mode = bits
		}
	}
	return mode, nil
}

// bLs lists directories one name per line (-a, -A and -l are honoured).
func bLs(sh *shell, argv []string, st streams) (int, error) {
	flags, ops := splitFlags(argv[1:])
	if len(ops) == 0 {
		ops = []string{"."}
	}
	code := 0
	for i, op := range ops {
		p := sh.abs(op)
		fi, err := sh.fs.stat(p, true)
		if err != nil {
			fmt.Fprintf(st.err, "ls: %s: %v\n", op, describe(err))
			code = 1
			continue
		}
		if !fi.Mode.IsDir() {
			sh.lsLine(st, flags, op, fi)
			continue
		}
		if len(ops) > 1 {
			if i > 0 {
				fmt.Fprintln(st.out)
			}
			fmt.Fprintf(st.out, "%s:\n", op)
		}
		entries, err := sh.fs.readDir(p)
		if err != nil {
			fmt.Fprintf(st.err, "ls: %s: %v\n", op, describe(err))
			code = 1
			continue
		}
		if flags['a'] {
			sh.lsLine(st, flags, ".", fi)
			sh.lsLine(st, flags, "..", fi)
		}
		for _, e := range entries {
			if strings.HasPrefix(e.Path, ".") && !flags['a'] && !flags['A'] {
				continue
			}
			sh.lsLine(st, flags, e.Path, e)
		}
	}
	return code, nil
}

func (sh *shell) lsLine(st streams, flags map[rune]bool, name string, fi File) {
	if !flags['l'] {
		fmt.Fprintln(st.out, name)
		return
	}
	if fi.Link != "" {
		name += " -> " + fi.Link
	}
	fmt.Fprintf(st.out, "%s %d %d %d %s\n", fi.Mode, fi.UID, fi.GID, fi.Size, name)
}
