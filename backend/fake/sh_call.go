package fake

import (
	"bytes"
	"fmt"
	"path"
	"strings"
)

// call runs one command: a builtin, or an executable script of the file
// system.
func (sh *shell) call(argv []string, st streams) (int, error) {
	name := argv[0]
	if !strings.Contains(name, "/") {
		if b := lookupBuiltin(name); b != nil {
			return b(sh, argv, st)
		}
		for _, dir := range strings.Split(sh.lookupPath(), ":") {
			p := path.Join(sh.abs(dir), name)
			if fi, err := sh.fs.stat(p, true); err == nil && fi.Mode.IsRegular() {
				return sh.runFile(p, argv, st)
			}
		}
		fmt.Fprintf(st.err, "sh: %s: not found\n", name)
		return 127, nil
	}
	p := sh.abs(name)
	if _, err := sh.fs.stat(p, true); err != nil {
		// Busybox-style images have their tools at the usual paths.
		if b := lookupBuiltin(path.Base(name)); b != nil {
			return b(sh, argv, st)
		}
		fmt.Fprintf(st.err, "sh: %s: not found\n", name)
		return 127, nil
	}
	return sh.runFile(p, argv, st)
}

func (sh *shell) lookupPath() string {
	if p, ok := sh.vars["PATH"]; ok {
		return p
	}
	return defaultPath
}

// runFile runs an executable shell script with argv as its arguments.
func (sh *shell) runFile(p string, argv []string, st streams) (int, error) {
	fi, err := sh.fs.stat(p, true)
	if err != nil || fi.Mode.Perm()&0o111 == 0 || !fi.Mode.IsRegular() {
		fmt.Fprintf(st.err, "sh: %s: Permission denied\n", argv[0])
		return 126, nil
	}
	data, err := sh.fs.readFile(p)
	if err != nil {
		fmt.Fprintf(st.err, "sh: %s: %v\n", argv[0], underlying(err))
		return 126, nil
	}
	first, _, _ := bytes.Cut(data, []byte("\n"))
	interp := strings.Fields(strings.TrimPrefix(string(first), "#!"))
	if !bytes.HasPrefix(first, []byte("#!")) || len(interp) == 0 || !isShell(path.Base(interp[0])) {
		fmt.Fprintf(st.err, "sh: %s: exec format error (the fake runs only shell scripts)\n", argv[0])
		return 126, nil
	}
	s := sh.sub()
	s.args = append([]string{argv[0]}, argv[1:]...)
	return s.script(string(data), st), sh.ctx.Err()
}

func isShell(name string) bool {
	return name == "sh" || name == "ash" || name == "bash" || name == "dash"
}
