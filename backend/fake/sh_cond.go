package fake

import (
	"fmt"
	"io/fs"
	"slices"
	"strconv"
)

// bTest is test and [: the POSIX forms by argument count, ! and ( ), -a
// and -o, the file tests, string and integer comparisons, and -t.
func bTest(sh *shell, argv []string, st streams) (int, error) {
	args := argv[1:]
	if argv[0] == "[" {
		if len(args) == 0 || args[len(args)-1] != "]" {
			fmt.Fprintln(st.err, "[: missing ]")
			return 2, nil
		}
		args = args[:len(args)-1]
	}
	ok, err := sh.cond(args, st)
	if err != nil {
		fmt.Fprintf(st.err, "%s: %v\n", argv[0], err)
		return 2, nil
	}
	return boolStatus(ok), nil
}

var binaryOps = []string{"=", "==", "!=", "-eq", "-ne", "-lt", "-le", "-gt", "-ge"}

func (sh *shell) cond(a []string, st streams) (bool, error) {
	switch len(a) {
	case 0:
		return false, nil
	case 1:
		return a[0] != "", nil
	case 2:
		if a[0] == "!" {
			return a[1] == "", nil
		}
		return sh.unary(a[0], a[1], st)
	case 3:
		if slices.Contains(binaryOps, a[1]) {
			return binary(a[0], a[1], a[2])
		}
		if a[1] != "-a" && a[1] != "-o" {
			if a[0] == "!" {
				ok, err := sh.cond(a[1:], st)
				return !ok, err
			}
			if a[0] == "(" && a[2] == ")" {
				return sh.cond(a[1:2], st)
			}
		}
	case 4:
		if a[0] == "!" {
			ok, err := sh.cond(a[1:], st)
			return !ok, err
		}
	}
	for _, op := range []string{"-o", "-a"} {
		if i := slices.Index(a[1:], op) + 1; i > 0 && i < len(a)-1 {
			l, err := sh.cond(a[:i], st)
			if err != nil {
				return false, err
			}
			r, err := sh.cond(a[i+1:], st)
			if op == "-o" {
				return l || r, err
			}
			return l && r, err
		}
	}
	if a[0] == "!" {
		ok, err := sh.cond(a[1:], st)
		return !ok, err
	}
	return false, fmt.Errorf("syntax error")
}

func (sh *shell) unary(op, arg string, st streams) (bool, error) {
	switch op {
	case "-n":
		return arg != "", nil
	case "-z":
		return arg == "", nil
	case "-t":
		switch arg {
		case "0":
			return st.inTTY, nil
		case "1":
			return st.outTTY, nil
		case "2":
			return st.errTTY, nil
		}
		return false, nil
	}
	follow := op != "-L" && op != "-h"
	fi, err := sh.fs.stat(sh.abs(arg), follow)
	exists := err == nil
	switch op {
	case "-e", "-r", "-w":
		return exists, nil
	case "-f":
		return exists && fi.Mode.IsRegular(), nil
	case "-d":
		return exists && fi.Mode.IsDir(), nil
	case "-x":
		return exists && fi.Mode.Perm()&0o111 != 0, nil
	case "-s":
		return exists && fi.Size > 0, nil
	case "-L", "-h":
		return exists && fi.Mode&fs.ModeSymlink != 0, nil
	case "-p", "-S", "-b", "-c":
		return false, nil
	}
	return false, fmt.Errorf("%s: unknown operand", op)
}

func binary(l, op, r string) (bool, error) {
	switch op {
	case "=", "==":
		return l == r, nil
	case "!=":
		return l != r, nil
	}
	a, err := strconv.Atoi(l)
	if err != nil {
		return false, fmt.Errorf("%s: bad number", l)
	}
	b, err := strconv.Atoi(r)
	if err != nil {
		return false, fmt.Errorf("%s: bad number", r)
	}
	switch op {
	case "-eq":
		return a == b, nil
	case "-ne":
		return a != b, nil
	case "-lt":
		return a < b, nil
	case "-le":
		return a <= b, nil
	case "-gt":
		return a > b, nil
	}
	return a >= b, nil
}
