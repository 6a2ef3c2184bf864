package docker

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"

	"github.com/bottle-dev/bottle/backend"
)

// Docker-specific behaviour the conformance suite cannot see through the
// backend interface.

// newSpec is a bottle spec with a fresh identity and the run label.
func newSpec(argv ...string) backend.Spec {
	return backend.Spec{
		Identity: "dt-" + strings.ToLower(rand.Text()[:5]),
		Bottle:   "dockertest",
		Agent:    "shell",
		Image:    testImage(),
		Command:  argv,
		Labels:   map[string]string{runLabel: runID},
	}
}

// create creates a bottle, registering its removal before the error check.
func create(t *testing.T, b *Backend, spec backend.Spec) backend.Instance {
	t.Helper()
	inst, err := b.Create(t.Context(), spec)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := b.Remove(ctx, backend.InstanceName(spec.Identity)); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	return inst
}

func TestNetworkAndLimits(t *testing.T) {
	b := engine(t)
	for _, open := range []bool{false, true} {
		spec := newSpec("true")
		spec.Network = open
		spec.CPUs, spec.MemoryBytes = 0.5, 64<<20
		inst := create(t, b, spec)
		n, err := b.c.NetworkInspect(t.Context(), inst.Name, network.InspectOptions{})
		if err != nil {
			t.Fatalf("network of %s: %v", inst.Name, err)
		}
		if n.Internal == open || n.Labels[backend.LabelIdentity] != spec.Identity || n.Labels[runLabel] != runID {
			t.Errorf("Network=%v: network internal=%v labels %v", open, n.Internal, n.Labels)
		}
		info, err := b.c.ContainerInspect(t.Context(), inst.ID)
		if err != nil {
			t.Fatal(err)
		}
		if hc := info.HostConfig; hc.NanoCPUs != 500_000_000 || hc.Memory != 64<<20 || hc.Init == nil || !*hc.Init || string(hc.NetworkMode) != inst.Name {
			t.Errorf("host config: cpus %d mem %d init %v network %s", hc.NanoCPUs, hc.Memory, hc.Init, hc.NetworkMode)
		}
	}
}

// TestNetworkLeftover: a network left by a crashed teardown is adopted when
// it is the identity's with the same policy, replaced when its policy is
// more open, and never taken when it is not ours.
func TestNetworkLeftover(t *testing.T) {
	b := engine(t)
	ctx := t.Context()
	spec := newSpec("true")
	name := backend.InstanceName(spec.Identity)
	_, err := b.c.NetworkCreate(ctx, name, network.CreateOptions{Labels: specLabels(spec)}) // not internal
	t.Cleanup(func() { _ = b.removeNetwork(context.Background(), name) })
	if err != nil {
		t.Fatal(err)
	}
	create(t, b, spec) // Network false: the open leftover must be replaced
	n, err := b.c.NetworkInspect(ctx, name, network.InspectOptions{})
	if err != nil || !n.Internal {
		t.Errorf("leftover open network not replaced by an internal one: %v, %v", n.Internal, err)
	}

	foreign := newSpec("true")
	fname := backend.InstanceName(foreign.Identity)
	_, err = b.c.NetworkCreate(ctx, fname, network.CreateOptions{Labels: map[string]string{runLabel: runID}})
	t.Cleanup(func() { _ = b.c.NetworkRemove(context.Background(), fname) })
	if err != nil {
		t.Fatal(err)
	}
	_, err = b.Create(ctx, foreign)
	t.Cleanup(func() { _ = b.Remove(context.Background(), fname) })
	if !errors.Is(err, backend.ErrConflict) {
		t.Errorf("Create over an unmanaged network of the same name = %v, want ErrConflict", err)
	}
}

// TestRemoveFinishesTeardown: the container is gone, the network is not
// (an interrupted teardown); Remove by name finishes the job.
func TestRemoveFinishesTeardown(t *testing.T) {
	b := engine(t)
	inst := create(t, b, newSpec("true"))
	if err := b.c.ContainerRemove(t.Context(), inst.ID, container.RemoveOptions{Force: true}); err != nil {
		t.Fatal(err)
	}
	if err := b.Remove(t.Context(), inst.Name); err != nil {
		t.Fatal(err)
	}
	if _, err := b.c.NetworkInspect(t.Context(), inst.Name, network.InspectOptions{}); !isNotFound(err) {
		t.Errorf("network after Remove: %v", err)
	}
}

// TestCopyInOwnership: directories CopyIn creates belong to the owner of
// their nearest existing ancestor; an existing destination keeps its owner.
func TestCopyInOwnership(t *testing.T) {
	b := engine(t)
	ctx := t.Context()
	inst := create(t, b, newSpec("stat", "-c", "%u %a %n", "/srv/home", "/srv/home/a", "/srv/home/a/b", "/srv/home/a/b/f"))
	tarOf := func(hdrs ...*tar.Header) io.Reader {
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		for _, h := range hdrs {
			if err := tw.WriteHeader(h); err != nil {
				t.Fatal(err)
			}
			_, _ = io.WriteString(tw, strings.Repeat("x", int(h.Size)))
		}
		_ = tw.Close()
		return &buf
	}
	if err := b.CopyIn(ctx, inst.ID, "/srv", tarOf(&tar.Header{Name: "home/", Typeflag: tar.TypeDir, Mode: 0o700, Uid: 1234, Gid: 1234}), nil); err != nil {
		t.Fatal(err)
	}
	if err := b.CopyIn(ctx, inst.ID, "/srv/home/a/b", tarOf(&tar.Header{Name: "f", Typeflag: tar.TypeReg, Mode: 0o600, Size: 1, Uid: 1234}), nil); err != nil {
		t.Fatal(err)
	}
	// Into the existing /srv/home again: its owner and mode stay.
	if err := b.CopyIn(ctx, inst.ID, "/srv/home", tarOf(&tar.Header{Name: "g", Typeflag: tar.TypeReg, Mode: 0o644}), nil); err != nil {
		t.Fatal(err)
	}
	if err := b.CopyIn(ctx, inst.ID, "/srv/home/a/b/f", tarOf(), nil); err == nil {
		t.Error("CopyIn to a file: no error")
	}
	var out bytes.Buffer
	code, err := b.Run(ctx, inst.ID, backend.IO{Stdout: &out, Stderr: &out})
	if err != nil || code != 0 {
		t.Fatalf("stat: %d %v %s", code, err, out.String())
	}
	want := "1234 700 /srv/home\n1234 755 /srv/home/a\n1234 755 /srv/home/a/b\n1234 600 /srv/home/a/b/f\n"
	if out.String() != want {
		t.Errorf("stat:\n%s\nwant\n%s", out.String(), want)
	}
}

func TestRunCancelDetaches(t *testing.T) {
	b := engine(t)
	inst := create(t, b, newSpec("sh", "-c", "echo started; exec sleep 600"))
	ctx, cancel := context.WithCancel(t.Context())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		_, err := b.Run(ctx, inst.ID, backend.IO{Stdout: pw})
		done <- err
	}()
	line := make([]byte, len("started\n"))
	if _, err := io.ReadFull(pr, line); err != nil {
		t.Fatal(err)
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Run after cancel = %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return within 10s of ctx cancel")
	}
	got, err := b.Inspect(t.Context(), inst.ID)
	if err != nil || got.State != backend.StateRunning {
		t.Errorf("after a cancelled Run the agent is %q (%v), want still running", got.State, err)
	}
}

func TestSaveImage(t *testing.T) {
	b := engine(t)
	var buf bytes.Buffer
	if err := b.SaveImage(t.Context(), testImage(), &buf); err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(&buf)
	found := false
	for h, err := tr.Next(); err == nil; h, err = tr.Next() {
		found = found || h.Name == "manifest.json"
	}
	if !found {
		t.Error("saved image has no manifest.json")
	}
	if err := b.SaveImage(t.Context(), "bottle-no-such-image:"+runID, io.Discard); err == nil {
		t.Error("SaveImage of a missing image: no error")
	}
}

// TestBuildFailure: a failing step is an error carrying the builder's
// message, and it leaves no intermediate container behind.
func TestBuildFailure(t *testing.T) {
	b := engine(t)
	dir := t.TempDir()
	nonce := fmt.Sprintf("fail-%d", time.Now().UnixNano())
	df := filepath.Join(dir, "Dockerfile")
	content := fmt.Sprintf("FROM %s\nLABEL %s=%q dev.bottle.test-nonce=%q\nRUN echo about to fail && exit 3\n", testImage(), runLabel, runID, nonce)
	if err := os.WriteFile(df, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	var lines []string
	_, err := b.EnsureImage(t.Context(), backend.Image{Dockerfile: df, Context: dir}, backend.ProgressFunc(func(l string) { lines = append(lines, l) }))
	if err == nil || !strings.Contains(err.Error(), "non-zero code: 3") {
		t.Fatalf("failing build: %v", err)
	}
	if !strings.Contains(strings.Join(lines, "\n"), "about to fail") {
		t.Errorf("build output not reported: %q", lines)
	}
	left, err := b.c.ContainerList(t.Context(), container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", "dev.bottle.test-nonce="+nonce))})
	if err != nil || len(left) != 0 {
		t.Errorf("intermediate containers left: %d (%v)", len(left), err)
	}

	if err := os.WriteFile(df, []byte("FROM "+testImage()+"\nNOSUCHINSTRUCTION x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := b.EnsureImage(t.Context(), backend.Image{Dockerfile: df, Context: dir}, nil); err == nil {
		t.Error("malformed Dockerfile: no error")
	}
	if _, err := b.EnsureImage(t.Context(), backend.Image{Dockerfile: filepath.Join(dir, "missing")}, nil); err == nil {
		t.Error("missing Dockerfile: no error")
	}
}
