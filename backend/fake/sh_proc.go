package fake

import (
	"bufio"
	"fmt"
	"io"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
)

func bSleep(sh *shell, argv []string, st streams) (int, error) {
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
			fmt.Fprintf(st.err, "sleep: invalid number '%s'\n", a)
			return 1, nil
		}
		total += time.Duration(f * float64(unit))
	}
	t := time.NewTimer(total)
	defer t.Stop()
	select {
	case <-t.C:
		return 0, nil
	case <-sh.ctx.Done():
		return 137, sh.ctx.Err()
	}
}

func bSeq(_ *shell, argv []string, st streams) (int, error) {
	nums := make([]int, 0, 3)
	args, sep := argv[1:], "\n"
	if len(args) > 1 && args[0] == "-s" {
		sep, args = args[1], args[2:]
	}
	for _, a := range args {
		n, err := strconv.Atoi(a)
		if err != nil {
			fmt.Fprintf(st.err, "seq: invalid number '%s'\n", a)
			return 1, nil
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
		fmt.Fprintln(st.err, "seq: usage: seq [FIRST [INC]] LAST")
		return 1, nil
	}
	w := bufio.NewWriter(st.out)
	for i := first; incr != 0 && (incr > 0 && i <= last || incr < 0 && i >= last); i += incr {
		if i != first {
			w.WriteString(sep) //nolint:errcheck // reported by Flush
		}
		w.WriteString(strconv.Itoa(i)) //nolint:errcheck // reported by Flush
	}
	if incr != 0 && (incr > 0 && first <= last || incr < 0 && first >= last) {
		w.WriteString("\n") //nolint:errcheck // reported by Flush
	}
	_ = w.Flush()
	return 0, nil
}

func bStty(sh *shell, argv []string, st streams) (int, error) {
	if !st.inTTY || sh.term == nil {
		fmt.Fprintln(st.err, "stty: standard input: Not a tty")
		return 1, nil
	}
	if len(argv) > 1 && argv[1] == "size" {
		ts := sh.term()
		fmt.Fprintf(st.out, "%d %d\n", ts.Rows, ts.Cols)
	}
	return 0, nil
}

// bSh runs sh -c SCRIPT [NAME ARGS...], sh FILE ARGS..., or a script read
// from stdin; options before them (-e, -u, -x) are accepted and ignored.
func bSh(sh *shell, argv []string, st streams) (int, error) {
	args := argv[1:]
	command := false
	for len(args) > 0 && strings.HasPrefix(args[0], "-") && args[0] != "-" {
		command = command || strings.Contains(args[0], "c")
		args = args[1:]
	}
	s := sh.sub()
	switch {
	case command:
		if len(args) == 0 {
			fmt.Fprintln(st.err, "sh: -c requires an argument")
			return 2, nil
		}
		s.args = append([]string{"sh"}, args[1:]...)
		if len(args) > 1 {
			s.args = args[1:]
		}
		return s.script(args[0], st), sh.ctx.Err()
	case len(args) > 0:
		data, err := sh.fs.readFile(sh.abs(args[0]))
		if err != nil {
			fmt.Fprintf(st.err, "sh: can't open '%s': %v\n", args[0], describe(err))
			return 2, nil
		}
		s.args = args
		return s.script(string(data), st), sh.ctx.Err()
	}
	data, err := io.ReadAll(st.in)
	if err != nil {
		return 2, nil
	}
	return s.script(string(data), st), sh.ctx.Err()
}

func bEnv(sh *shell, argv []string, st streams) (int, error) {
	s := sh.sub()
	args := argv[1:]
	for len(args) > 0 && strings.Contains(args[0], "=") {
		k, v, _ := strings.Cut(args[0], "=")
		s.vars[k] = v
		args = args[1:]
	}
	if len(args) > 0 {
		return s.call(args, st)
	}
	keys := slices.Sorted(func(yield func(string) bool) {
		for k := range s.vars {
			if !yield(k) {
				return
			}
		}
	})
	for _, k := range keys {
		fmt.Fprintf(st.out, "%s=%s\n", k, s.vars[k])
	}
	return 0, nil
}

func bID(sh *shell, argv []string, st streams) (int, error) {
	switch {
	case slices.Contains(argv[1:], "-u"):
		fmt.Fprintln(st.out, sh.fs.uid)
	case slices.Contains(argv[1:], "-g"):
		fmt.Fprintln(st.out, sh.fs.gid)
	default:
		fmt.Fprintf(st.out, "uid=%d gid=%d\n", sh.fs.uid, sh.fs.gid)
	}
	return 0, nil
}

func bPathName(_ *shell, argv []string, st streams) (int, error) {
	if len(argv) < 2 {
		fmt.Fprintf(st.err, "%s: missing operand\n", argv[0])
		return 1, nil
	}
	if argv[0] == "dirname" {
		fmt.Fprintln(st.out, path.Dir(argv[1]))
		return 0, nil
	}
	base := path.Base(argv[1])
	if len(argv) > 2 {
		base = strings.TrimSuffix(base, argv[2])
	}
	fmt.Fprintln(st.out, base)
	return 0, nil
}
