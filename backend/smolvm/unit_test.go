package smolvm

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bottle-dev/bottle/backend"
)

func TestCreateArgs(t *testing.T) {
	dir := t.TempDir()
	spec := backend.Spec{Identity: "fixer-k3x9a", Bottle: "fixer", Agent: "claude", Image: "bottle/x:1",
		Env: []string{"A=1", "B=two words"}, Workdir: "/workspace", CPUs: 1.5, MemoryBytes: 100 << 20,
		Mounts: []backend.Mount{{Source: dir, Target: "/run/bottle", ReadOnly: true}, {Source: dir, Target: "/run/bottle/queue"}},
		TTY:    true, Labels: map[string]string{"extra": "yes", backend.LabelManaged: "spoofed"}}
	got, err := createArgs("bottle-fixer-k3x9a", spec)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"machine", "create", "--name", "bottle-fixer-k3x9a",
		"--label", "dev.bottle.agent=claude", "--label", "dev.bottle.bottle=fixer",
		"--label", "dev.bottle.identity=fixer-k3x9a", "--label", "dev.bottle.image=bottle/x:1",
		"--label", "dev.bottle.managed=true", "--label", "dev.bottle.tty=true", "--label", "extra=yes",
		"--cpus", "2", "--mem", "100", "-e", "A=1", "-e", "B=two words", "-w", "/workspace",
		"-v", dir + ":/run/bottle:ro", "-v", dir + ":/run/bottle/queue"}
	if strings.Join(got, "\x00") != strings.Join(want, "\x00") {
		t.Errorf("createArgs:\n got %q\nwant %q", got, want)
	}
	spec.Network, spec.MemoryBytes, spec.TTY = true, 1<<20, false
	got, _ = createArgs("n", spec)
	if j := strings.Join(got, " "); !strings.Contains(j, "--net") || !strings.Contains(j, "--mem 64") {
		t.Errorf("network/min memory not applied: %q", got)
	}
	file := filepath.Join(dir, "f")
	os.WriteFile(file, nil, 0o644) //nolint:errcheck // checked by createArgs below
	for _, bad := range []backend.Spec{
		{Mounts: []backend.Mount{{Source: file, Target: "/x"}}},
		{Mounts: []backend.Mount{{Source: dir, Target: "rel"}}},
		{Workdir: "rel"},
		{Env: []string{"NOEQUALS"}},
		{CPUs: 255.5}, // smolvm's --cpus is one byte
	} {
		if _, err := createArgs("n", bad); err == nil {
			t.Errorf("createArgs(%+v) accepted", bad)
		}
	}
}

func TestLauncher(t *testing.T) {
	got := launcher([]string{"claude", "-p", "it's done", "$HOME"}, "")
	if !strings.HasSuffix(got, "exec 'claude' '-p' 'it'\\''s done' '$HOME'\n") || strings.Contains(got, "su ") {
		t.Errorf("launcher without user:\n%s", got)
	}
	if got := launcher([]string{"x"}, "agent"); !strings.Contains(got, "su -p -s /bin/sh -c") ||
		!strings.Contains(got, "-v u='agent'") || !strings.Contains(got, "/etc/passwd' >&2; exit 126") {
		t.Errorf("launcher for a named user:\n%s", got)
	}
	if got := launcher([]string{"x"}, "1000:2000"); !strings.Contains(got, "setpriv --reuid=1000 --regid=2000") ||
		!strings.Contains(got, `echo "bottle-1000:x:1000:2000:bottle agent:${HOME:-/}:/bin/sh" >> /etc/passwd`) {
		t.Errorf("launcher for a numeric user:\n%s", got)
	}
	if got := launcher([]string{"x"}, "root"); strings.Contains(got, "su ") {
		t.Errorf("launcher for root switches user:\n%s", got)
	}
}

func TestErrorMapping(t *testing.T) {
	for _, c := range []struct {
		code   int
		stderr string
		want   error
	}{
		{1, "Error: vm not found: bottle-x\n", backend.ErrNotFound},
		{1, "Error: config operation failed: machine status: machine 'bottle-x' not found\n", backend.ErrNotFound},
		{1, "Error: config operation failed: create machine: machine 'x' already exists or is being created\n", backend.ErrConflict},
		{1, "Error: kvm not available: /dev/kvm does not exist\n", ErrKVM},
		{1, "Error: kvm permission denied: open /dev/kvm\n", ErrKVM},
		{1, "Error: mount source not found: /nope\n", nil},
		{2, "error: unexpected argument '-n' found\n", nil},
	} {
		err := newError([]string{"machine", "create", "--name", "x", "-e", "SECRET=hunter2"}, result{code: c.code, stderr: c.stderr})
		if c.want != nil && !errors.Is(err, c.want) {
			t.Errorf("%q: %v does not wrap %v", c.stderr, err, c.want)
		}
		if c.want == nil && (errors.Is(err, backend.ErrNotFound) || errors.Is(err, backend.ErrConflict) || errors.Is(err, ErrKVM)) {
			t.Errorf("%q: %v wraps a kind", c.stderr, err)
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("error leaks an env value: %v", err)
		}
		if c.want == ErrKVM && !strings.Contains(err.Error(), strings.TrimSpace(strings.TrimPrefix(c.stderr, "Error: "))) {
			t.Errorf("KVM error lacks smolvm's message: %v", err)
		}
	}
}

// TestCLIFailure checks which exec endings are smolvm's own failures
// (reference §3.4, §5) rather than the guest command's exit code.
func TestCLIFailure(t *testing.T) {
	for _, c := range []struct {
		code   int
		stderr string
		want   bool
	}{
		{1, "guest noise\nError: agent operation failed: connect: machine 'x' is not running. Use …\n", true},
		{1, "Error: vm not found: x\n", true},
		{1, "Error: agent operation failed: exec: command output too large (23068672 bytes; limit 20971520). Redirect …\n", true},
		{1, "half a line of guest outp" + "error: streaming output exceeded 11534336 byte cap; exec terminated (output truncated)\n", true},
		{1, "guest line\nerror: streaming output exceeded 11534336 byte cap; exec terminated (output truncated)\n", true},
		{2, "error: unexpected argument '-n' found\n\nUsage: smolvm machine exec\n\nFor more information, try '--help'.\n", true},
		{1, "Error: something the guest printed\n", false},
		{1, "error: the guest's own complaint\n", false},
		{2, "error: guest usage\n", false},
		{0, "Error: vm not found: x\n", false},
		{141, "", false},
	} {
		if got := cliFailure(result{code: c.code, stderr: c.stderr}); got != c.want {
			t.Errorf("cliFailure(exit %d, %q) = %v, want %v", c.code, c.stderr, got, c.want)
		}
	}
}

func TestMissingBinary(t *testing.T) {
	b, err := New(Options{Binary: filepath.Join(t.TempDir(), "no-smolvm"), DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	err = b.Ping(t.Context())
	if err == nil || !strings.Contains(err.Error(), "BOTTLE_SMOLVM") {
		t.Fatalf("Ping with a missing binary: %v", err)
	}
	t.Setenv("BOTTLE_SMOLVM", "")
	t.Setenv("PATH", t.TempDir())
	b, _ = New(Options{DataDir: t.TempDir()})
	if err := b.Ping(t.Context()); err == nil || !strings.Contains(err.Error(), "BOTTLE_SMOLVM") {
		t.Fatalf("Ping with no smolvm on PATH: %v", err)
	}
}

func TestPingChecksVersion(t *testing.T) {
	if fakeBin == "" {
		t.Skip("running against a real smolvm")
	}
	b := newTestBackend(t, nil)
	if err := b.Ping(t.Context()); err != nil {
		t.Fatalf("Ping on the fake: %v", err)
	}
	echo := filepath.Join(t.TempDir(), "echo")
	os.WriteFile(echo, []byte("#!/bin/sh\necho not-smolvm\n"), 0o755) //nolint:errcheck // checked by Ping
	b.bin = echo
	if err := b.Ping(t.Context()); err == nil || !strings.Contains(err.Error(), "smolvm X.Y.Z") {
		t.Fatalf("Ping on a binary that is not smolvm: %v", err)
	}
}

// TestNoDockerPaths covers what works against the fake without Docker:
// not-found mapping, list filtering by label, leftovers, conflict.
func TestNoDockerPaths(t *testing.T) {
	if fakeBin == "" {
		t.Skip("running against a real smolvm")
	}
	ctx := t.Context()
	b := newTestBackend(t, nil)
	if _, err := b.Inspect(ctx, "bottle-missing"); !errors.Is(err, backend.ErrNotFound) {
		t.Errorf("Inspect missing: %v", err)
	}
	if _, err := b.Inspect(ctx, "--json"); !errors.Is(err, backend.ErrNotFound) {
		t.Errorf("Inspect of an option-like id: %v", err)
	}
	if err := b.Halt(ctx, "bottle-missing"); !errors.Is(err, backend.ErrNotFound) {
		t.Errorf("Halt missing: %v", err)
	}
	if err := b.Remove(ctx, "bottle-missing"); err != nil {
		t.Errorf("Remove missing: %v", err)
	}
	if _, err := b.Exec(ctx, "bottle-missing", backend.ExecSpec{Argv: []string{"true"}}); !errors.Is(err, backend.ErrNotFound) {
		t.Errorf("Exec missing: %v", err)
	}
	if err := b.Logs(ctx, "bottle-missing", false, &strings.Builder{}); !errors.Is(err, backend.ErrNotFound) {
		t.Errorf("Logs missing: %v", err)
	}
	if got, err := b.List(ctx, nil); err != nil || len(got) != 0 {
		t.Errorf("List on no machines = %v, %v", got, err)
	}
	fakeCLI(t, b, "", "machine", "create", "--name", "bottle-a-1", "--label", "dev.bottle.managed=true",
		"--label", "dev.bottle.identity=a-1", "--label", "dev.bottle.bottle=a")
	fakeCLI(t, b, "", "machine", "create", "--name", "bottle-b-1", "--label", "dev.bottle.managed=true",
		"--label", "dev.bottle.identity=b-1", "--label", "dev.bottle.bottle=b")
	fakeCLI(t, b, "", "machine", "create", "--name", "someone-elses")
	all, err := b.List(ctx, nil)
	if err != nil || len(all) != 2 {
		t.Fatalf("List = %+v, %v; want the two managed machines", all, err)
	}
	only, err := b.List(ctx, map[string]string{backend.LabelBottle: "b"})
	if err != nil || len(only) != 1 || only[0].Identity != "b-1" || only[0].State != backend.StateCreated ||
		only[0].ID != "bottle-b-1" || only[0].CreatedAt.IsZero() {
		t.Fatalf("List(bottle=b) = %+v, %v", only, err)
	}
	left, err := b.Leftovers(ctx)
	if err != nil || len(left) != 2 || left[0].Kind != "machine" {
		t.Fatalf("Leftovers = %+v, %v", left, err)
	}
	_, err = b.Create(ctx, backend.Spec{Identity: "a-1", Image: "./img.tar", Command: []string{"true"}})
	if !errors.Is(err, backend.ErrConflict) {
		t.Errorf("Create of an existing identity: %v", err)
	}
	if err := b.RemoveResource(ctx, left[0]); err != nil {
		t.Fatal(err)
	}
	if err := b.RemoveResource(ctx, backend.Resource{Kind: "network", ID: "x"}); err == nil {
		t.Error("RemoveResource of a network succeeded")
	}
	if all, _ = b.List(ctx, nil); len(all) != 1 {
		t.Errorf("after RemoveResource, List = %+v", all)
	}
	_, err = b.Create(ctx, backend.Spec{Identity: "reg-1", Image: "alpine:3", Command: []string{"true"}})
	if err == nil || !strings.Contains(err.Error(), "docker save") {
		t.Errorf("Create from a registry ref without network: %v", err)
	}
}

// TestKVMError checks that a boot failure for lack of KVM reaches the
// caller as ErrKVM with smolvm's own message.
func TestKVMError(t *testing.T) {
	if fakeBin == "" {
		t.Skip("running against a real smolvm")
	}
	b := newTestBackend(t, nil)
	fakeCLI(t, b, "", "machine", "create", "--name", "bottle-kvm-1", "--label", "dev.bottle.managed=true")
	b.env = append(b.env, "FAKESMOLVM_KVM=missing")
	_, err := b.Run(t.Context(), "bottle-kvm-1", backend.IO{})
	if !errors.Is(err, ErrKVM) || !strings.Contains(err.Error(), "kvm not available: /dev/kvm does not exist") ||
		!strings.Contains(err.Error(), "smolvm machine start --name bottle-kvm-1") {
		t.Fatalf("Run without KVM = %v", err)
	}
}

func TestDescribe(t *testing.T) {
	if got := describe([]string{"machine", "exec", "--name", "n", "-e", "K=secret", "--", "x"}); got != "smolvm machine exec --name n" {
		t.Errorf("describe = %q", got)
	}
	if got := describe([]string{"--version"}); got != "smolvm --version" {
		t.Errorf("describe = %q", got)
	}
}
