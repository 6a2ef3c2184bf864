package fake

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"strconv"
	"strings"
)

// defaultPath is PATH when the image sets none.
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// builtin is one command of the fake's shell. Every command is a builtin,
// like a busybox applet: the fake runs no host programs.
type builtin func(sh *shell, argv []string, st streams) (int, error)

// lookupBuiltin is a switch rather than a map: a map of functions that
// call back into the shell would be an initialization cycle.
func lookupBuiltin(name string) builtin {
	switch name {
	case ":", "true", "set":
		return func(*shell, []string, streams) (int, error) { return 0, nil }
	case "false":
		return func(*shell, []string, streams) (int, error) { return 1, nil }
	case "echo":
		return bEcho
	case "printf":
		return bPrintf
	case "cat":
		return bCat
	case "read":
		return bRead
	case "test", "[":
		return bTest
	case "exit":
		return bExit
	case "cd":
		return bCd
	case "pwd":
		return func(sh *shell, _ []string, st streams) (int, error) {
			fmt.Fprintln(st.out, sh.cwd)
			return 0, nil
		}
	case "export", "unset", "shift":
		return bVars
	case "sleep":
		return bSleep
	case "seq":
		return bSeq
	case "stty":
		return bStty
	case "sh", "ash", "bash", "dash":
		return bSh
	case "env":
		return bEnv
	case "id":
		return bID
	case "basename", "dirname":
		return bPathName
	case "mkdir", "touch", "rm", "readlink", "ln", "mv", "cp", "chmod":
		return bFiles
	case "ls":
		return bLs
	}
	return nil
}

func bEcho(_ *shell, argv []string, st streams) (int, error) {
	args, newline, escapes := argv[1:], true, false
	for len(args) > 0 && (args[0] == "-n" || args[0] == "-e" || args[0] == "-E") {
		newline = newline && args[0] != "-n"
		escapes = args[0] == "-e" || (escapes && args[0] != "-E")
		args = args[1:]
	}
	s := strings.Join(args, " ")
	if escapes {
		s = unescape(s)
	}
	if newline {
		s += "\n"
	}
	_, _ = io.WriteString(st.out, s)
	return 0, nil
}

var escapeReplacer = strings.NewReplacer(`\n`, "\n", `\t`, "\t", `\\`, `\`, `\r`, "\r", `\"`, `"`)

func unescape(s string) string { return escapeReplacer.Replace(s) }

// bPrintf supports %s, %d, %b and %%, reusing the format while arguments
// remain, as POSIX printf does.
func bPrintf(_ *shell, argv []string, st streams) (int, error) {
	if len(argv) < 2 {
		fmt.Fprintln(st.err, "printf: usage: printf FORMAT [ARGUMENT...]")
		return 2, nil
	}
	format, args := unescape(argv[1]), argv[2:]
	for {
		var b strings.Builder
		used := 0
		for i := 0; i < len(format); i++ {
			if format[i] != '%' || i+1 == len(format) {
				b.WriteByte(format[i])
				continue
			}
			i++
			verb := format[i]
			if verb == '%' {
				b.WriteByte('%')
				continue
			}
			arg := ""
			if used < len(args) {
				arg = args[used]
			}
			used++
			switch verb {
			case 'd', 'i':
				n, _ := strconv.Atoi(arg)
				b.WriteString(strconv.Itoa(n))
			case 'b':
				b.WriteString(unescape(arg))
			default:
				b.WriteString(arg)
			}
		}
		_, _ = io.WriteString(st.out, b.String())
		if used == 0 || used >= len(args) {
			return 0, nil
		}
		args = args[used:]
	}
}

func bCat(sh *shell, argv []string, st streams) (int, error) {
	files := argv[1:]
	if len(files) == 0 {
		files = []string{"-"}
	}
	code := 0
	for _, f := range files {
		if f == "-" {
			if _, err := io.Copy(st.out, st.in); err != nil {
				return 1, nil
			}
			continue
		}
		data, err := sh.fs.readFile(sh.abs(f))
		if err != nil {
			fmt.Fprintf(st.err, "cat: can't open '%s': %v\n", f, describe(err))
			code = 1
			continue
		}
		_, _ = st.out.Write(data)
	}
	return code, nil
}

// describe words an error the way a shell tool prints it.
func describe(err error) string {
	err = underlying(err)
	if errors.Is(err, fs.ErrNotExist) {
		return "No such file or directory"
	}
	if errors.Is(err, errGone) {
		return err.Error()
	}
	s := err.Error()
	return strings.ToUpper(s[:1]) + s[1:]
}

func bRead(sh *shell, argv []string, st streams) (int, error) {
	names := slices.DeleteFunc(slices.Clone(argv[1:]), func(a string) bool { return a == "-r" })
	if len(names) == 0 {
		names = []string{"REPLY"}
	}
	line, err := st.in.ReadString('\n')
	if err != nil && line == "" {
		for _, n := range names {
			sh.vars[n] = ""
		}
		return 1, nil
	}
	line = strings.TrimSuffix(line, "\n")
	for i, n := range names {
		line = strings.TrimLeft(line, " \t")
		if i == len(names)-1 {
			sh.vars[n] = strings.TrimRight(line, " \t")
			break
		}
		field, rest, _ := strings.Cut(line, " ")
		sh.vars[n], line = field, rest
	}
	return 0, nil
}

func bExit(sh *shell, argv []string, st streams) (int, error) {
	code := sh.status
	if len(argv) > 1 {
		n, err := strconv.Atoi(argv[1])
		if err != nil {
			fmt.Fprintf(st.err, "sh: exit: Illegal number: %s\n", argv[1])
			n = 2
		}
		code = n & 0xff
	}
	return code, exitError{code}
}

func bCd(sh *shell, argv []string, st streams) (int, error) {
	dir := sh.vars["HOME"]
	if len(argv) > 1 {
		dir = argv[1]
	}
	if dir == "" {
		dir = "/"
	}
	p := sh.abs(dir)
	fi, err := sh.fs.stat(p, true)
	if err == nil && !fi.Mode.IsDir() {
		err = errors.New("Not a directory")
	}
	if err != nil {
		fmt.Fprintf(st.err, "sh: cd: can't cd to %s: %v\n", dir, describe(err))
		return 2, nil
	}
	sh.cwd = p
	sh.vars["PWD"] = p
	return 0, nil
}

func bVars(sh *shell, argv []string, st streams) (int, error) {
	switch argv[0] {
	case "shift":
		n := 1
		if len(argv) > 1 {
			n, _ = strconv.Atoi(argv[1])
		}
		if n > len(sh.args)-1 {
			fmt.Fprintln(st.err, "sh: shift: can't shift that many")
			return 1, nil
		}
		sh.args = append([]string{sh.args[0]}, sh.args[1+n:]...)
	case "unset":
		for _, a := range argv[1:] {
			delete(sh.vars, a)
		}
	default: // export: every variable is in the environment already
		for _, a := range argv[1:] {
			if k, v, ok := strings.Cut(a, "="); ok && validName(k) {
				sh.vars[k] = v
			}
		}
	}
	return 0, nil
}
