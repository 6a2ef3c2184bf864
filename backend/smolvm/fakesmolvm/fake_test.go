package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// step is one CLI invocation and what the reference says it prints.
type step struct {
	args      string // split on spaces, 'single quotes' group
	argv      []string
	stdin     string
	code      int
	stdout    []string // substrings
	stderr    []string
	notStdout []string
	notStderr []string
}

// fake is one isolated data dir for the fake.
type fake struct {
	t    *testing.T
	root string
	env  map[string]string
}

func newFake(t *testing.T) *fake {
	t.Helper()
	f := &fake{t: t, root: t.TempDir()}
	f.env = map[string]string{"SMOLVM_DATA_DIR": f.root}
	t.Cleanup(func() { cleanupDocker(f.root) })
	return f
}

func (f *fake) getenv(k string) string {
	if v, ok := f.env[k]; ok {
		return v
	}
	return os.Getenv(k)
}

// call runs the fake in-process and returns code, stdout, stderr.
func (f *fake) call(argv []string, stdin string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(context.Background(), argv, strings.NewReader(stdin), &out, &errb, f.getenv)
	return code, out.String(), errb.String()
}

func (f *fake) check(s step) (string, string) {
	f.t.Helper()
	argv := s.argv
	if argv == nil {
		argv = splitArgs(s.args)
	}
	code, out, errs := f.call(argv, s.stdin)
	where := strings.Join(argv, " ")
	if code != s.code {
		f.t.Errorf("smolvm %s: exit %d, want %d\nstdout: %s\nstderr: %s", where, code, s.code, out, errs)
	}
	for _, w := range s.stdout {
		if !strings.Contains(out, w) {
			f.t.Errorf("smolvm %s: stdout %q lacks %q", where, out, w)
		}
	}
	for _, w := range s.stderr {
		if !strings.Contains(errs, w) {
			f.t.Errorf("smolvm %s: stderr %q lacks %q", where, errs, w)
		}
	}
	for _, w := range s.notStdout {
		if strings.Contains(out, w) {
			f.t.Errorf("smolvm %s: stdout %q has %q", where, out, w)
		}
	}
	for _, w := range s.notStderr {
		if strings.Contains(errs, w) {
			f.t.Errorf("smolvm %s: stderr %q has %q", where, errs, w)
		}
	}
	return out, errs
}

// cleanupDocker removes every container and volume of one data dir.
func cleanupDocker(root string) {
	if _, err := exec.LookPath("docker"); err != nil {
		return
	}
	filter := "label=" + labelRoot + "=" + root
	if out, err := exec.Command("docker", "ps", "-aq", "--filter", filter).Output(); err == nil {
		if ids := strings.Fields(string(out)); len(ids) > 0 {
			exec.Command("docker", append([]string{"rm", "-f", "-v"}, ids...)...).Run() //nolint:errcheck // cleanup
		}
	}
	if out, err := exec.Command("docker", "volume", "ls", "-q", "--filter", filter).Output(); err == nil {
		if ids := strings.Fields(string(out)); len(ids) > 0 {
			exec.Command("docker", append([]string{"volume", "rm", "-f"}, ids...)...).Run() //nolint:errcheck // cleanup
		}
	}
}

// TestCLIContract walks the reference's contract without Docker: the
// command surface, the state machine up to start, the error lines and
// exit codes, and the JSON of ls/status.
func TestCLIContract(t *testing.T) {
	f := newFake(t)
	dir, file := t.TempDir(), filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	steps := []step{
		{args: "--version", stdout: []string{"smolvm 1.9.3\n"}},
		{args: "vm ls --json", stdout: []string{"[]"}},
		{args: "machine list", stdout: []string{"No machines found"}},
		{args: "machine exec -n x -- ls", code: 2, stderr: []string{"error: unexpected argument '-n' found", "Usage:"}},
		{args: "machine exec --name x", code: 2, stderr: []string{"error: the following required arguments"}},
		{args: "machine exec --name x -d -i -- ls", code: 2, stderr: []string{"error: the argument '--detach' cannot be used"}},
		{args: "machine frobnicate", code: 2, stderr: []string{"error: unrecognized subcommand 'frobnicate'"}},
		{args: "machine create --name bad--name", code: 1, stderr: []string{"Error: config operation failed: create machine: machine name"}},
		{args: "machine create --name bad-", code: 1, stderr: []string{"machine name 'bad-' is invalid"}},
		{args: "machine create --name _bad", code: 1, stderr: []string{"is invalid"}},
		{args: "machine create --name m --cpus 0", code: 1, stderr: []string{"Error: "}},
		{args: "machine create --name m --mem 63", code: 1, stderr: []string{"Error: "}},
		{args: "machine create --name m --storage 0", code: 1, stderr: []string{"Error: "}},
		{args: "machine create --name m --overlay 0", code: 1, stderr: []string{"Error: "}},
		{args: "machine create --name m --image alpine", code: 1, stderr: []string{"docker save alpine | smolvm machine create"}},
		{args: "machine create --name m -v " + file + ":/x", code: 1, stderr: []string{"not a directory"}},
		{args: "machine create --name m -v " + dir + "/missing:/x", code: 1, stderr: []string{"mount source not found"}},
		{args: "machine create --name m -v " + dir + ":rel", code: 1, stderr: []string{"must be absolute"}},
		{args: "machine create --name m -v /etc:/x", code: 1, stderr: []string{"protected"}},
		{args: "machine create --name m -v " + dir + ":/a -v " + dir + ":/a", code: 1, stderr: []string{"duplicate"}},
		{args: "machine status --name m", code: 1, stderr: []string{"Error: vm not found: m"}}, // nothing persisted
		{args: "machine create --name m --label dev.bottle.managed=true --label k=v -e A=B -w /w --cpus 2 --mem 512 -v " + dir + ":/data:ro -- sleep infinity --net",
			stdout: []string{"Created machine: m\n", "  CPUs: 2, Memory: 512 MiB", "  Mounts: 1"},
			stderr: []string{"note: --net"}},
		{args: "machine create --name m", code: 1,
			stderr: []string{"Error: config operation failed: create machine: machine 'm' already exists or is being created"}},
		{args: "machine create --name reg --net --image alpine:3", stdout: []string{"Created machine: reg"}},
		{args: "machine status --name m", stdout: []string{"Machine 'm': created\n"}},
		{args: "machine status -n m --json", stdout: []string{`"state": "created"`, `"pid": null`, `"k": "v"`, `"cmd": [`}},
		{args: "machine stop --name m", stdout: []string{"Machine 'm' is not running (state: created)"}},
		{args: "machine exec --name m -- true", code: 1,
			stderr: []string{"Error: agent operation failed: connect: machine 'm' is not running. Use 'smolvm machine start --name m' first."}},
		{args: "machine exec --name nope -- true", code: 1, stderr: []string{"Error: vm not found: nope"}, notStderr: []string{"is not running"}},
		{args: "machine start --name nope", code: 1, stderr: []string{"Error: vm not found: nope"}},
		{args: "machine stop --name nope", code: 1, stderr: []string{"Error: vm not found: nope"}},
		{args: "machine status --name nope", code: 1, stderr: []string{"Error: vm not found: nope"}},
		{args: "machine status --name nope --json", code: 1,
			stderr: []string{"Error: config operation failed: machine status: machine 'nope' not found"}},
		{args: "machine data-dir --name m", stdout: []string{filepath.Join(f.root, ".cache", "smolvm", "vms")}},
		{args: "machine data-dir --name nope", code: 1, stderr: []string{"vm not found: nope"}},
		{args: "machine cp a b", code: 1, stderr: []string{"Error: "}},
		{args: "machine cp m:/etc/hostname ./x --mode 600", code: 1, stderr: []string{"uploads only"}},
		{args: "machine cp nope:/x ./x", code: 1, stderr: []string{"vm not found: nope"}},
		{args: "machine cp m:/x ./x", code: 1, stderr: []string{"is not running"}},
		{args: "machine delete --name m", stdin: "n\n", stdout: []string{"Cancelled"}, stderr: []string{"[y/N]"}},
		{args: "machine delete --name m", stdout: []string{"Cancelled"}}, // EOF answers no
		{args: "machine status --name m", stdout: []string{"Machine 'm': created"}},
		{args: "machine rm --name reg", stdin: "yes\n", stdout: []string{"Deleted machine: reg"}},
		{args: "machine delete --name m -f", stdout: []string{"Cleaning up data directory for vm: m", "Deleted machine: m\n"}},
		{args: "machine delete --name m -f", code: 1, stderr: []string{"Error: vm not found: m"}},
		{args: "machine ls --json", stdout: []string{"[]"}},
	}
	for _, s := range steps {
		f.check(s)
	}
}

// TestStatusJSONKeys checks the keys §3.6/§11.5 require.
func TestStatusJSONKeys(t *testing.T) {
	f := newFake(t)
	f.check(step{args: "machine create --name j --label a=b"})
	out, _ := f.check(step{args: "machine status --name j --json"})
	var obj map[string]any
	if err := json.Unmarshal([]byte(out), &obj); err != nil {
		t.Fatalf("status --json: %v\n%s", err, out)
	}
	for _, k := range []string{"name", "state", "cpus", "memory_mib", "pid", "image", "network", "labels",
		"ephemeral", "created_at", "storage_gb", "overlay_gb", "mounts", "ports", "entrypoint", "cmd"} {
		if _, ok := obj[k]; !ok {
			t.Errorf("status --json lacks %q", k)
		}
	}
	out, _ = f.check(step{args: "machine ls --json"})
	var arr []map[string]any
	if err := json.Unmarshal([]byte(out), &arr); err != nil || len(arr) != 1 || arr[0]["name"] != "j" {
		t.Fatalf("ls --json = %s (%v)", out, err)
	}
}

func TestParseFlags(t *testing.T) {
	p, err := specs["exec"].parse([]string{"--name=x", "-it", "-eA=1", "-e", "B=2", "--", "sh", "-c", "echo --name"})
	if err != nil {
		t.Fatal(err)
	}
	if p.value("name") != "x" || !p.bools["interactive"] || !p.bools["tty"] ||
		strings.Join(p.values["env"], ",") != "A=1,B=2" || strings.Join(p.argv, " ") != "sh -c echo --name" {
		t.Fatalf("parsed %+v", p)
	}
	// A trailing argv may also start at the first positional.
	if p, err = specs["exec"].parse([]string{"--name", "x", "ls", "-l"}); err != nil || strings.Join(p.argv, " ") != "ls -l" {
		t.Fatalf("parsed %+v, %v", p, err)
	}
	if _, err := specs["stop"].parse([]string{"--name"}); err == nil {
		t.Fatal("--name without a value parsed")
	}
}

// splitArgs splits on spaces, keeping 'single-quoted' groups together.
func splitArgs(s string) []string {
	var out []string
	var cur strings.Builder
	inWord, quoted := false, false
	for _, r := range s {
		switch {
		case r == '\'':
			quoted, inWord = !quoted, true
		case r == ' ' && !quoted:
			if inWord {
				out = append(out, cur.String())
				cur.Reset()
			}
			inWord = false
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if inWord {
		out = append(out, cur.String())
	}
	return out
}
