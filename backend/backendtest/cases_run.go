package backendtest

import (
	"bytes"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/bottle-dev/bottle/backend"
)

func testRunEnvWorkdir(h *harness) {
	spec := h.spec("sh", "-c", `echo "out:$FOO"; echo err >&2; pwd; cat /data/in/in.txt; exit 7`)
	spec.Env = []string{"FOO=bar"}
	spec.Workdir = "/workspace"
	inst := h.create(spec)
	if inst.State != backend.StateCreated || inst.Identity != spec.Identity || inst.Name != backend.InstanceName(spec.Identity) {
		h.t.Errorf("Create = %+v: want state created, identity %s, name %s", inst, spec.Identity, backend.InstanceName(spec.Identity))
	}
	// CopyIn into a created, never started bottle, at a missing directory.
	in := tarOf(h.t, file{name: "in.txt", mode: 0o644, body: "copied\n"})
	h.must(h.b.CopyIn(h.ctx, inst.ID, "/data/in", in, nil), "CopyIn")

	code, out, errOut := h.run(inst.ID, "")
	if code != 7 {
		h.t.Errorf("exit code %d, want 7", code)
	}
	if want := "out:bar\n/workspace\ncopied\n"; out != want {
		h.t.Errorf("stdout %q, want %q", out, want)
	}
	if errOut != "err\n" {
		h.t.Errorf("stderr %q, want %q", errOut, "err\n")
	}
	got, err := h.b.Inspect(h.ctx, inst.ID)
	h.must(err, "Inspect")
	if got.State != backend.StateExited || got.ExitCode != 7 {
		h.t.Errorf("after Run: state %q exit %d, want exited 7", got.State, got.ExitCode)
	}
}

func testRunStdin(h *harness) {
	// cat only ends when stdin reaches EOF: a hang here means the end of
	// the caller's stdin never reached the agent.
	spec := h.spec("sh", "-c", `read line; echo "got:$line"; cat`)
	spec.OpenStdin = true
	inst := h.create(spec)
	code, out, _ := h.run(inst.ID, "ping\nrest\n")
	if code != 0 || out != "got:ping\nrest\n" {
		h.t.Errorf("exit %d stdout %q, want 0 %q", code, out, "got:ping\nrest\n")
	}
}

func testRunTTY(h *harness) {
	script := "test -t 1 && echo tty-ok"
	var sizes chan backend.TermSize
	if !h.opts.NoResize {
		// The resize reaches the terminal after the start: poll for it.
		script = `test -t 1 || exit 9
for i in $(seq 100); do [ "$(stty size)" = "33 101" ] && echo tty-ok && exit 0; sleep 0.1; done
stty size; exit 8`
		sizes = make(chan backend.TermSize, 1)
		sizes <- backend.TermSize{Rows: 33, Cols: 101}
	}
	spec := h.spec("sh", "-c", script)
	spec.TTY = true
	inst := h.create(spec)
	var out bytes.Buffer
	code, err := h.b.Run(h.ctx, inst.ID, backend.IO{Stdout: &out, Resize: sizes})
	h.must(err, "Run with a TTY")
	// A terminal turns "\n" into "\r\n" and merges stderr into stdout.
	if code != 0 || !strings.Contains(out.String(), "tty-ok\r\n") {
		h.t.Errorf("TTY run: exit %d, output %q; want 0 and %q", code, out.String(), "tty-ok\r\n")
	}
}

func testMounts(h *harness) {
	ro, rw := h.t.TempDir(), h.t.TempDir()
	writeFile(h, filepath.Join(ro, "f"), "from host\n")
	// Writable by whichever user the image runs as.
	h.must(os.Chmod(rw, 0o777), "chmod")
	spec := h.spec("sh", "-c", `cat /mnt/ro/f
if touch /mnt/ro/x 2>/dev/null; then echo "read-only mount is writable"; exit 3; fi
echo written > /mnt/rw/out`)
	spec.Mounts = []backend.Mount{
		{Source: ro, Target: "/mnt/ro", ReadOnly: true},
		{Source: rw, Target: "/mnt/rw"},
	}
	inst := h.create(spec)
	code, out, errOut := h.run(inst.ID, "")
	if code != 0 || out != "from host\n" {
		h.t.Errorf("exit %d stdout %q stderr %q; want 0 %q", code, out, errOut, "from host\n")
	}
	got, err := os.ReadFile(filepath.Join(rw, "out"))
	if err != nil || string(got) != "written\n" {
		h.t.Errorf("rw mount: host sees %q, %v; want %q", got, err, "written\n")
	}
	if _, err := os.Stat(filepath.Join(ro, "x")); err == nil {
		h.t.Error("a file appeared in the read-only mount's host directory")
	}
}

// testTranscript is the capability loop's snapshot: restore a transcript
// directory into a fresh bottle, let the agent add to it, snapshot it from
// the stopped bottle, and restore the snapshot into another bottle.
func testTranscript(h *harness) {
	const dir = "/home/agent/.t"
	seed := tarOf(h.t,
		file{name: "log.txt", mode: 0o644, body: "one\n"},
		file{name: "link", link: "log.txt", mode: 0o777},
		file{name: "dir/", dir: true, mode: 0o755},
		file{name: "dir/a.txt", mode: 0o600, body: "a"},
		file{name: "exec.sh", mode: 0o755, body: "#!/bin/sh\n"},
	)
	first := h.create(h.spec("sh", "-c", `cd /home/agent/.t && echo two >> log.txt && mkdir sub && echo new > sub/n && cat link`))
	h.must(h.b.CopyIn(h.ctx, first.ID, dir, seed, nil), "CopyIn transcript")
	if code, out, errOut := h.run(first.ID, ""); code != 0 || out != "one\ntwo\n" {
		h.t.Fatalf("agent run: exit %d stdout %q stderr %q", code, out, errOut)
	}

	var snap bytes.Buffer
	h.must(h.b.CopyOut(h.ctx, first.ID, dir, &snap), "CopyOut of a stopped bottle")
	saved := snap.Bytes()
	got := readTar(h.t, bytes.NewReader(saved))
	want := map[string]file{
		"log.txt":   {name: "log.txt", mode: 0o644, body: "one\ntwo\n"},
		"link":      {name: "link", link: "log.txt"},
		"dir/":      {name: "dir/", dir: true, mode: 0o755},
		"dir/a.txt": {name: "dir/a.txt", mode: 0o600, body: "a"},
		"exec.sh":   {name: "exec.sh", mode: 0o755, body: "#!/bin/sh\n"},
		"sub/":      {name: "sub/", dir: true},
		"sub/n":     {name: "sub/n", body: "new\n"},
	}
	if len(got) != len(want) {
		h.t.Errorf("snapshot entries %v, want the %d of %v (relative, no entry for the directory itself)", keys(got), len(want), keys(want))
	}
	for name, w := range want {
		g, ok := got[name]
		switch {
		case !ok:
			h.t.Errorf("snapshot lacks %q", name)
		case g.body != w.body || g.link != w.link || g.dir != w.dir || (w.mode != 0 && g.mode != w.mode):
			h.t.Errorf("snapshot %q = %+v, want %+v", name, g, w)
		}
	}

	second := h.create(h.spec("sh", "-c", `cd /home/agent/.t && cat log.txt sub/n && readlink link && test -x exec.sh`))
	h.must(h.b.CopyIn(h.ctx, second.ID, dir, bytes.NewReader(saved), nil), "CopyIn snapshot")
	if code, out, errOut := h.run(second.ID, ""); code != 0 || out != "one\ntwo\nnew\nlog.txt\n" {
		h.t.Errorf("restored transcript: exit %d stdout %q stderr %q", code, out, errOut)
	}
}

func keys(m map[string]file) []string {
	return slices.Sorted(maps.Keys(m))
}
