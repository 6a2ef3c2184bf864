package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// needDocker skips unless BOTTLE_DOCKER_TESTS=1 and fails when Docker does
// not answer.
func needDocker(t *testing.T) {
	t.Helper()
	if os.Getenv("BOTTLE_DOCKER_TESTS") != "1" {
		t.Skip("set BOTTLE_DOCKER_TESTS=1 (and run scripts/docker-up) to run the fake's Docker-backed tests")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "docker", "image", "inspect", "busybox:latest").CombinedOutput(); err != nil {
		t.Fatalf("docker with busybox:latest is required (scripts/docker-up): %v: %s", err, out)
	}
}

// saveImage returns `docker save ref`.
func saveImage(t *testing.T, ref string) []byte {
	t.Helper()
	out, err := exec.Command("docker", "save", ref).Output()
	if err != nil {
		t.Fatalf("docker save %s: %v", ref, err)
	}
	return out
}

// TestMachineLifecycle drives one image machine through the contract:
// --image - staging, start/stop idempotence, exec modes and exit codes,
// env/workdir precedence, mounts, tmpfs vs disk across a stop, cp, delete.
func TestMachineLifecycle(t *testing.T) {
	needDocker(t)
	t.Parallel()
	f := newFake(t)
	archive := saveImage(t, "busybox:latest")
	sum := sha256.Sum256(archive)
	ro, rw := t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(ro, "hello"), []byte("from host\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f.check(step{argv: []string{"machine", "create", "--name", "life", "--image", "-", "-e", "FOO=machine",
		"-e", "BAR=machine", "-w", "/work", "-v", ro + ":/mnt/ro:ro", "-v", rw + ":/mnt/rw", "--", "sleep", "infinity"},
		stdin: string(archive), stdout: []string{"Created machine: life", "Mounts: 2"}})
	out, _ := f.check(step{args: "machine ls --json"})
	var ms []map[string]any
	if err := json.Unmarshal([]byte(out), &ms); err != nil || len(ms) != 1 {
		t.Fatalf("ls --json: %v\n%s", err, out)
	}
	if want := "local:" + hex.EncodeToString(sum[:]); ms[0]["image"] != want || ms[0]["state"] != "created" {
		t.Errorf("ls --json image/state = %v/%v, want %s/created", ms[0]["image"], ms[0]["state"], want)
	}
	f.check(step{args: "machine exec --name life -- true", code: 1, stderr: []string{"is not running"}})
	f.check(step{args: "machine start --name life", stdout: []string{"Machine 'life' running (PID: "},
		stderr: []string{"Starting machine 'life' with 2 mount(s)..."}})
	f.check(step{args: "machine start --name life", stdout: []string{"Machine 'life' already running (PID: "}})
	f.check(step{args: "machine status --name life", stdout: []string{"Machine 'life': running (PID: "}})

	// env and workdir: exec -e/-w beat the machine's, which beat the image's.
	f.check(step{argv: []string{"machine", "exec", "--name", "life", "--", "sh", "-c", "echo $FOO $BAR; pwd"},
		stdout: []string{"machine machine\n/work\n"}})
	f.check(step{argv: []string{"machine", "exec", "--name", "life", "-e", "FOO=exec", "-w", "/tmp", "--",
		"sh", "-c", "echo $FOO $BAR; pwd"}, stdout: []string{"exec machine\n/tmp\n"}})
	// Exit codes pass through; buffered mode writes all stdout, then all stderr.
	var both bytes.Buffer
	code := run(context.Background(), []string{"machine", "exec", "--name", "life", "--", "sh", "-c",
		"echo e1 >&2; echo o1; echo e2 >&2; echo o2; exit 7"}, strings.NewReader(""), &both, &both, f.getenv)
	if code != 7 || both.String() != "o1\no2\ne1\ne2\n" {
		t.Errorf("buffered exec: exit %d, output %q; want 7 and stdout before stderr", code, both.String())
	}
	bin, _ := f.check(step{argv: []string{"machine", "exec", "--name", "life", "--", "printf", `\000\001\377`}})
	if bin != "\x00\x01\xff" {
		t.Errorf("exec stdout not byte-exact: %q", bin)
	}
	f.check(step{args: "machine exec --name life --stream -- sh -c 'exit 3'", code: 3})
	f.check(step{args: "machine exec --name life -i -- cat", stdin: "piped\n", stdout: []string{"piped\n"}})
	f.check(step{args: "machine exec --name life -- cat", stdin: "not forwarded", notStdout: []string{"not forwarded"}})
	f.check(step{args: "machine exec --name life -- /no/such/binary", code: 126})
	start := time.Now()
	f.check(step{args: "machine exec --name life --timeout 1s -- sleep 30", code: timeoutExit})
	if d := time.Since(start); d > 15*time.Second {
		t.Errorf("--timeout 1s took %v", d)
	}
	pid, _ := f.check(step{args: "machine exec --name life -d -- sleep 30"})
	if strings.TrimSpace(pid) == "" || strings.Trim(strings.TrimSpace(pid), "0123456789") != "" {
		t.Errorf("exec -d printed %q, want a PID", pid)
	}

	// Mounts: read-only honoured, read-write reaches the host.
	f.check(step{args: "machine exec --name life -- cat /mnt/ro/hello", stdout: []string{"from host"}})
	f.check(step{args: "machine exec --name life -- touch /mnt/ro/x", code: 1})
	f.check(step{args: "machine exec --name life -- sh -c 'echo guest > /mnt/rw/out'"})
	if b, err := os.ReadFile(filepath.Join(rw, "out")); err != nil || string(b) != "guest\n" {
		t.Errorf("rw mount: %q, %v", b, err)
	}

	// cp: one file each way.
	up := filepath.Join(t.TempDir(), "up")
	if err := os.WriteFile(up, []byte("uploaded"), 0o600); err != nil {
		t.Fatal(err)
	}
	f.check(step{argv: []string{"machine", "cp", up, "life:/root/up", "--mode", "600"}})
	f.check(step{args: "machine exec --name life -- stat -c %a:%s /root/up", stdout: []string{"600:8"}})
	down := filepath.Join(t.TempDir(), "down")
	f.check(step{argv: []string{"machine", "cp", "life:/root/up", down}})
	if b, err := os.ReadFile(down); err != nil || string(b) != "uploaded" {
		t.Errorf("cp download: %q, %v", b, err)
	}
	f.check(step{argv: []string{"machine", "cp", ro, "life:/root/dir"}, code: 1, stderr: []string{"not a regular file"}})

	// A stop empties the tmpfs /tmp and /run; disk (overlay, /workspace) stays.
	f.check(step{argv: []string{"machine", "exec", "--name", "life", "--", "sh", "-c",
		"echo t > /tmp/t && echo r > /run/r && echo v > /root/v && echo w > /workspace/w"}})
	f.check(step{args: "machine stop --name life", stdout: []string{"Stopping machine 'life'...\n", "Stopped machine: life\n"}})
	f.check(step{args: "machine stop --name life", stdout: []string{"Machine 'life' is not running (state: stopped)"}})
	f.check(step{args: "machine status --name life --json", stdout: []string{`"state": "stopped"`, `"pid": null`}})
	f.check(step{args: "machine start --name life"})
	f.check(step{argv: []string{"machine", "exec", "--name", "life", "--", "sh", "-c",
		"ls /tmp /run; cat /root/v /workspace/w"}, stdout: []string{"v\nw\n"}, notStdout: []string{"t\n", "r\n"}})

	// delete without -f stops the machine, then cancels (issue 5).
	f.check(step{args: "machine delete --name life", stdin: "no\n", stdout: []string{"Cancelled"}})
	f.check(step{args: "machine status --name life", stdout: []string{"Machine 'life': stopped"}})
	f.check(step{args: "machine delete --name life -f", stdout: []string{"Deleted machine: life"}})
	if out, _ := exec.Command("docker", "ps", "-aq", "--filter", "label="+labelRoot+"="+f.root).Output(); len(bytes.TrimSpace(out)) != 0 {
		t.Errorf("delete left containers: %s", out)
	}
}

// TestWorkspaceHidesImage checks that the guest /workspace is the
// machine's own disk, not the image's directory, unless a -v targets it.
func TestWorkspaceHidesImage(t *testing.T) {
	needDocker(t)
	t.Parallel()
	f := newFake(t)
	ctxDir := t.TempDir()
	df := "FROM busybox:latest\nRUN mkdir -p /workspace && echo image > /workspace/from-image\n"
	if err := os.WriteFile(filepath.Join(ctxDir, "Dockerfile"), []byte(df), 0o644); err != nil {
		t.Fatal(err)
	}
	tag := "fakesmolvm-test/workspace:" + filepath.Base(f.root)
	build := exec.Command("docker", "build", "-q", "-t", tag, ctxDir)
	build.Env = append(os.Environ(), "DOCKER_BUILDKIT=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("docker build: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("docker", "rmi", "-f", tag).Run() }) //nolint:errcheck // cleanup
	archive := string(saveImage(t, tag))
	mounted := t.TempDir()
	f.check(step{args: "machine create --name own --image -", stdin: archive})
	f.check(step{args: "machine create --name bound --image - -v " + mounted + ":/workspace", stdin: archive})
	f.check(step{args: "machine start --name own"})
	f.check(step{args: "machine start --name bound"})
	f.check(step{args: "machine exec --name own -- ls -A /workspace", notStdout: []string{"from-image"}})
	f.check(step{args: "machine exec --name own -- cat /etc/hostname"}) // the rest of the image is there
	f.check(step{args: "machine exec --name bound -- touch /workspace/seen"})
	if _, err := os.Stat(filepath.Join(mounted, "seen")); err != nil {
		t.Errorf("-v at /workspace did not replace it: %v", err)
	}
}

// TestRunEphemeral checks `machine run`: the guest's exit code, and no
// record left behind.
func TestRunEphemeral(t *testing.T) {
	needDocker(t)
	t.Parallel()
	f := newFake(t)
	f.check(step{args: "machine run --image - -- sh -c 'echo hi; exit 42'", stdin: string(saveImage(t, "busybox:latest")),
		code: 42, stdout: []string{"hi"}, stderr: []string{"Starting ephemeral machine (vm-"}})
	f.check(step{args: "machine run -- sh -c 'exit 5'", code: 5})
	f.check(step{args: "machine run --image alpine -- true", code: 1, stderr: []string{"--net"}})
	f.check(step{args: "machine ls --json", stdout: []string{"[]"}})
}

// TestParallelCreates checks that the state lock keeps every record when
// many invocations write at once.
func TestParallelCreates(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	const n = 12
	errs := make(chan string, n)
	for i := range n {
		go func() {
			code, _, stderr := f.call([]string{"machine", "create", "--name", "p" + string(rune('a'+i))}, "")
			if code != 0 {
				errs <- stderr
				return
			}
			errs <- ""
		}()
	}
	for range n {
		if e := <-errs; e != "" {
			t.Error(e)
		}
	}
	out, _ := f.check(step{args: "machine ls --json"})
	var ms []map[string]any
	if err := json.Unmarshal([]byte(out), &ms); err != nil || len(ms) != n {
		t.Fatalf("ls --json after %d parallel creates: %d machines (%v)", n, len(ms), err)
	}
}
