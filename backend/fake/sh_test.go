package fake

import (
	"bufio"
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/bottle-dev/bottle/backend"
)

// runScript runs src with the fake's shell on a fresh file system.
func runScript(t *testing.T, v *vfs, src, stdin string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	sh := newShell(t.Context(), v, []string{"HOME=/root", "X=a b"}, "/")
	st := streams{in: bufio.NewReader(strings.NewReader(stdin)), out: &out, err: &errOut}
	code = sh.runArgv([]string{"sh", "-c", src, "name", "p1", "p2"}, st)
	return code, out.String(), errOut.String()
}

func TestShell(t *testing.T) {
	cases := []struct {
		name, src, stdin, out string
		code                  int
	}{
		{name: "echo and exit", src: `echo hi; exit 3`, out: "hi\n", code: 3},
		{name: "and or", src: `false && echo no; false || echo yes; true && echo also`, out: "yes\nalso\n"},
		{name: "status", src: `false; echo $?; (exit 4); echo $?`, out: "1\n4\n"},
		{name: "quotes", src: `echo 'a  b' "c  $X" \$X`, out: "a  b c  a b $X\n"},
		{name: "splitting", src: `for w in $X "$X"; do echo "[$w]"; done`, out: "[a]\n[b]\n[a b]\n"},
		{name: "params", src: `echo $0 $1 $# "$@"; shift; echo $1`, out: "name p1 2 p1 p2\np2\n"},
		{name: "cmdsub", src: `n=$(seq 3 | cat); echo "$n" $(echo x)`, out: "1\n2\n3 x\n"},
		{name: "if elif else", src: "if [ 1 -gt 2 ]; then echo a\nelif test -z \"\"; then echo b\nelse echo c; fi", out: "b\n"},
		{name: "while", src: `i=; while [ "$i" != 111 ]; do i=${i}1; echo $i; done`, out: "1\n11\n111\n"},
		{name: "until and negation", src: `until ! false; do echo never; done; ! true || echo ok`, out: "ok\n"},
		{name: "group redirect", src: `{ echo a; echo b >&2; } 2>&1 >/dev/null; echo c`, out: "b\nc\n"},
		{name: "read", src: `read a b; echo "$b|$a"; cat`, stdin: "one two three\nrest\n", out: "two three|one\nrest\n"},
		{name: "read at EOF", src: `read a || echo eof`, out: "eof\n"},
		{name: "files", src: `mkdir -p /w/d && cd /w && echo 1 > d/f && echo 2 >> d/f && cat d/f && ln -s d/f l && readlink l && cat l && ls -A . && pwd`,
			out: "1\n2\nd/f\n1\n2\nd\nl\n/w\n"},
		{name: "mv cp rm", src: `cd /tmp && echo x > a && mv a b && cp b c && rm b && ls && test -e b || echo gone`, out: "c\ngone\n"},
		{name: "chmod and scripts", src: `printf '#!/bin/sh\necho "run:$1"\n' > /bin/tool; chmod +x /bin/tool; tool arg; /bin/tool 2`,
			out: "run:arg\nrun:2\n"},
		{name: "not found", src: `nosuch; echo $?`, out: "127\n"},
		{name: "missing file", src: `cat /nope; echo $?`, out: "1\n"},
		{name: "syntax error", src: `if true; then`, code: 2},
		{name: "test forms", src: `[ -d / -a ! -f / ] && [ "a" = a -o 1 -eq 2 ] && test ! -z x && echo ok`, out: "ok\n"},
		{name: "env prefix and export", src: `export A=1; env B=2 sh -c 'echo $A$B'`, out: "12\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := newVFS()
			_ = v.mkdirAll("/bin", 0o755, false)
			code, out, errOut := runScript(t, v, c.src, c.stdin)
			if code != c.code || out != c.out {
				t.Errorf("exit %d, stdout %q (stderr %q); want %d, %q", code, out, errOut, c.code, c.out)
			}
		})
	}
}

func TestShellSleepStopsWithContext(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	sh := newShell(ctx, newVFS(), nil, "/")
	start := time.Now()
	code := sh.runArgv([]string{"sleep", "600"}, streams{in: bufio.NewReader(strings.NewReader("")), out: &bytes.Buffer{}, err: &bytes.Buffer{}})
	if code != 137 || time.Since(start) > 10*time.Second {
		t.Errorf("sleep under a cancelled context: exit %d after %v", code, time.Since(start))
	}
}

func TestShellMounts(t *testing.T) {
	ro, rw := t.TempDir(), t.TempDir()
	v := newVFS()
	v.setMounts([]backend.Mount{{Source: ro, Target: "/run/x", ReadOnly: true}, {Source: rw, Target: "/run/x/q"}})
	code, out, _ := runScript(t, v, `echo a > /run/x/q/f && cat /run/x/q/f && touch /run/x/g 2>/dev/null || echo ro`, "")
	if code != 0 || out != "a\nro\n" {
		t.Errorf("exit %d stdout %q", code, out)
	}
}
