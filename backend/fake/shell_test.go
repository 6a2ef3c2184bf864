package fake

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bottle-dev/bottle/backend"
)

// runScript runs src with the fake's shell on v, as sh -c src name p1 p2.
func runScript(t *testing.T, v *vfs, src, stdin string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	sh := &shell{fs: v}
	code = sh.runArgv(t.Context(), []string{"sh", "-c", src, "name", "p1", "p2"}, []string{"HOME=/root", "X=a b"}, "/",
		stdio{in: strings.NewReader(stdin), out: &out, err: &errOut})
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
		{name: "params", src: `echo $0 $1 $# "$@"; shift; echo $1`, out: "name p1 2 p1 p2\np2\n"},
		{name: "cmdsub and pipe", src: `n=$(seq 3 | cat); echo "$n" $(echo x)`, out: "1\n2\n3 x\n"},
		{name: "read", src: `read a b; echo "$b|$a"; cat`, stdin: "one two three\nrest\n", out: "two three|one\nrest\n"},
		{name: "read at EOF", src: `read a || echo eof`, out: "eof\n"},
		{name: "files", src: `mkdir -p /w/d && cd /w && echo 1 > d/f && echo 2 >> d/f && cat d/f && ls -A . && pwd && cat < d/f`,
			out: "1\n2\nd\n/w\n1\n2\n"},
		{name: "rm and test -e", src: `cd /tmp && echo x > a && rm a && test -e a || echo gone`, out: "gone\n"},
		{name: "glob through readDir", src: `mkdir /g && touch /g/b /g/a /g/.h && echo /g/*`, out: "/g/a /g/b\n"},
		{name: "cd to a missing or plain file", src: `echo > /f; cd /nope 2>/dev/null || echo no; cd /f 2>/dev/null || echo file`, out: "no\nfile\n"},
		{name: "test -x through access", src: `echo > /s; test -x /s || echo plain; chmod +x /s; test -x /s && echo exec`, out: "plain\nexec\n"},
		{name: "scripts on PATH", src: `printf '#!/bin/sh\necho "run:$1"\n' > /bin/tool; chmod 755 /bin/tool; tool arg; /bin/tool 2`,
			out: "run:arg\nrun:2\n"},
		{name: "not a script", src: `printf 'ELF' > /bin/bin; chmod +x /bin/bin; bin`, code: 126},
		{name: "not found", src: `nosuch; echo $?`, out: "127\n"},
		{name: "missing file", src: `cat /nope; echo $?`, out: "1\n"},
		{name: "redirect to a missing dir", src: `echo x > /nope/f; echo $?`, out: "1\n"},
		{name: "syntax error", src: `if true; then`, code: 2},
		{name: "nested sh", src: `export A=1; B=2 sh -c 'echo $A$B$0' zero`, out: "12zero\n"},
		{name: "seq separator", src: `seq -s , 2 4`, out: "2,3,4\n"},
		{name: "readlink", src: `readlink /nope || echo none`, out: "none\n"},
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
	start := time.Now()
	code := (&shell{fs: newVFS()}).runArgv(ctx, []string{"sleep", "600"}, nil, "/", stdio{})
	if code != killedExit || time.Since(start) > 10*time.Second {
		t.Errorf("sleep under a cancelled context: exit %d after %v", code, time.Since(start))
	}
}

func TestShellMounts(t *testing.T) {
	ro, rw := t.TempDir(), t.TempDir()
	v := newVFS()
	v.setMounts([]backend.Mount{{Source: ro, Target: "/run/x", ReadOnly: true}, {Source: rw, Target: "/run/x/q"}})
	code, out, errOut := runScript(t, v, `echo a > /run/x/q/f && cat /run/x/q/f && { touch /run/x/g 2>/dev/null || echo ro; }
test -w /run/x || echo not-w; test -w /run/x/q && echo w`, "")
	if code != 0 || out != "a\nro\nnot-w\nw\n" {
		t.Errorf("exit %d stdout %q stderr %q", code, out, errOut)
	}
}

func TestShellTerminal(t *testing.T) {
	var out bytes.Buffer
	sh := &shell{fs: newVFS(), term: func() backend.TermSize { return backend.TermSize{Rows: 3, Cols: 4} }}
	code := sh.runArgv(t.Context(), []string{"sh", "-c", `test -t 1 && [ -t 0 ] && stty size`}, nil, "/", stdio{out: &out})
	if code != 0 || out.String() != "3 4\n" {
		t.Errorf("with a terminal: exit %d stdout %q", code, out.String())
	}
	out.Reset()
	code = (&shell{fs: newVFS()}).runArgv(t.Context(), []string{"sh", "-c", `test -t 1 || echo no-tty; stty size`}, nil, "/", stdio{out: &out})
	if code != 1 || out.String() != "no-tty\n" {
		t.Errorf("without a terminal: exit %d stdout %q", code, out.String())
	}
}

func TestLiteralWords(t *testing.T) {
	got, err := literalWords(`--chown=1:2 "a b" 'c$d' e\ f $HOME ${X}y A=1`)
	want := []string{"--chown=1:2", "a b", "c$d", "e f", "$HOME", "$Xy", "A=1"}
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("literalWords = %q, %v; want %q", got, err, want)
	}
	if _, err := literalWords(`"open`); err == nil {
		t.Error("an unterminated quote parsed")
	}
}
