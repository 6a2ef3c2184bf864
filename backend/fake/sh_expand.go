package fake

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// expand expands a word into fields: parameters and substitutions outside
// quotes are split on blanks.
func (sh *shell) expand(w *word, st streams) ([]string, error) {
	var fields []string
	var cur strings.Builder
	have := false
	for _, p := range w.parts {
		if p.kind == pLit {
			cur.WriteString(p.text)
			have = have || p.quoted || p.text != ""
			continue
		}
		if p.kind == pParam && p.text == "@" && p.quoted {
			for i, a := range sh.args[1:] {
				if i > 0 {
					fields = append(fields, cur.String())
					cur.Reset()
				}
				cur.WriteString(a)
				have = true
			}
			continue
		}
		val, err := sh.value(p, st)
		if err != nil {
			return nil, err
		}
		if p.quoted {
			cur.WriteString(val)
			have = true
			continue
		}
		pieces := strings.Fields(val)
		if len(pieces) > 0 && isBlank(val[0]) && have {
			fields, have = append(fields, cur.String()), false
			cur.Reset()
		}
		for i, piece := range pieces {
			if i > 0 {
				fields = append(fields, cur.String())
				cur.Reset()
			}
			cur.WriteString(piece)
			have = true
		}
		if len(pieces) > 0 && isBlank(val[len(val)-1]) {
			fields, have = append(fields, cur.String()), false
			cur.Reset()
		}
	}
	if have {
		fields = append(fields, cur.String())
	}
	return fields, nil
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' || c == '\n' }

// expandOne expands a word without field splitting (assignments,
// redirection targets).
func (sh *shell) expandOne(w *word, st streams) (string, error) {
	var b strings.Builder
	for _, p := range w.parts {
		if p.kind == pLit {
			b.WriteString(p.text)
			continue
		}
		v, err := sh.value(p, st)
		if err != nil {
			return "", err
		}
		b.WriteString(v)
	}
	return b.String(), nil
}

func (sh *shell) value(p part, st streams) (string, error) {
	if p.kind == pCmdSub {
		var out bytes.Buffer
		s := sh.sub()
		sub := st
		sub.out, sub.outTTY = &out, false
		l, err := parse(p.text)
		if err != nil {
			fmt.Fprintf(st.err, "sh: %v\n", err)
			sh.status = 2
			return "", nil
		}
		sh.status = s.exitCode(s.runList(l, sub))
		if err := sh.ctx.Err(); err != nil {
			return "", err
		}
		return strings.TrimRight(out.String(), "\n"), nil
	}
	switch p.text {
	case "?":
		return strconv.Itoa(sh.status), nil
	case "#":
		return strconv.Itoa(len(sh.args) - 1), nil
	case "@", "*":
		return strings.Join(sh.args[1:], " "), nil
	case "$", "!":
		return "1", nil
	}
	if n, err := strconv.Atoi(p.text); err == nil {
		if n < len(sh.args) {
			return sh.args[n], nil
		}
		return "", nil
	}
	return sh.vars[p.text], nil
}

// redirect applies redirections to st; the closers write files out.
func (sh *shell) redirect(rs []redir, st streams) (streams, []func() error, error) {
	var closers []func() error
	for _, r := range rs {
		target, err := sh.expandOne(r.target, st)
		if err != nil {
			return st, closers, err
		}
		switch r.op {
		case ">&", "<&":
			src, err := strconv.Atoi(target)
			if err != nil || src > 2 {
				return st, closers, fmt.Errorf("%s: bad file descriptor", target)
			}
			w, tty := st.writer(src)
			st.setWriter(r.fd, w, tty)
			continue
		case "<":
			data, err := sh.readTarget(target)
			if err != nil {
				return st, closers, fmt.Errorf("can't open %s: %w", target, underlying(err))
			}
			st.in, st.inTTY = bufio.NewReader(bytes.NewReader(data)), false
			continue
		}
		if target == "/dev/null" {
			st.setWriter(r.fd, io.Discard, false)
			continue
		}
		p := sh.abs(target)
		if err := sh.fs.checkCreate(p); err != nil {
			return st, closers, fmt.Errorf("can't create %s: %w", target, underlying(err))
		}
		fw := &fileWriter{fs: sh.fs, path: p, append: r.op == ">>"}
		closers = append(closers, fw.close)
		st.setWriter(r.fd, fw, false)
	}
	return st, closers, nil
}

func (sh *shell) readTarget(target string) ([]byte, error) {
	if target == "/dev/null" {
		return nil, nil
	}
	return sh.fs.readFile(sh.abs(target))
}

func (st *streams) writer(fd int) (io.Writer, bool) {
	if fd == 2 {
		return st.err, st.errTTY
	}
	return st.out, st.outTTY
}

func (st *streams) setWriter(fd int, w io.Writer, tty bool) {
	switch fd {
	case 1:
		st.out, st.outTTY = w, tty
	case 2:
		st.err, st.errTTY = w, tty
	}
}

// fileWriter collects a redirection's output and writes the file once the
// command ends, in one write (atomic through a mount).
type fileWriter struct {
	fs     *vfs
	path   string
	append bool
	buf    bytes.Buffer
}

func (f *fileWriter) Write(p []byte) (int, error) { return f.buf.Write(p) }

func (f *fileWriter) close() error {
	return f.fs.write(f.path, f.buf.Bytes(), writeOpts{perm: 0o644, append: f.append})
}
