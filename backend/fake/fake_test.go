package fake_test

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bottle-dev/bottle/backend"
	"github.com/bottle-dev/bottle/backend/fake"
)

func spec(identity string) backend.Spec {
	return backend.Spec{Identity: identity, Bottle: "b", Agent: "a", Image: "img", Command: []string{"true"}}
}

func newFake(t *testing.T) *fake.Backend {
	t.Helper()
	b := fake.New()
	b.AddImage("img", map[string]string{"/etc/passwd": "root:x:0:0::/root:/bin/sh\n"})
	return b
}

func TestRemoveEndsRunWith137(t *testing.T) {
	b := newFake(t)
	started := make(chan *fake.Instance, 1)
	b.SetAgent("img", func(ctx context.Context, in *fake.Instance, io backend.IO) int {
		started <- in
		<-ctx.Done()
		return 0
	})
	inst, err := b.Create(t.Context(), spec("x-aaaaa"))
	if err != nil {
		t.Fatal(err)
	}
	type result struct {
		code int
		err  error
	}
	done := make(chan result, 1)
	go func() {
		code, err := b.Run(t.Context(), inst.ID, backend.IO{})
		done <- result{code, err}
	}()
	in := <-started
	if in.State() != backend.StateRunning {
		t.Errorf("state while the agent runs: %s", in.State())
	}
	if err := b.Remove(t.Context(), inst.ID); err != nil {
		t.Fatal(err)
	}
	if r := <-done; r.code != 137 || r.err != nil {
		t.Errorf("Run after Remove = %d, %v; want 137, nil", r.code, r.err)
	}
	if _, err := b.Inspect(t.Context(), inst.ID); !errors.Is(err, backend.ErrNotFound) {
		t.Errorf("Inspect after Remove: %v", err)
	}
	if !in.Removed() || b.Instance("x-aaaaa") != in {
		t.Error("the removed instance is not kept for inspection")
	}
	if err := in.WriteFile("/tmp/late", []byte("x"), 0o644); err == nil {
		t.Error("a removed instance accepted a write")
	}
}

func TestRunDetachesOnCancel(t *testing.T) {
	b := newFake(t)
	wrote, release := make(chan struct{}), make(chan struct{})
	b.SetDefaultAgent(func(ctx context.Context, in *fake.Instance, io backend.IO) int {
		_, _ = io.Stdout.Write([]byte("before\n"))
		close(wrote)
		<-release
		_, _ = io.Stdout.Write([]byte("after\n"))
		return 5
	})
	inst, _ := b.Create(t.Context(), spec("x-bbbbb"))
	ctx, cancel := context.WithCancel(t.Context())
	var out bytes.Buffer
	go func() {
		<-wrote
		cancel()
	}()
	if _, err := b.Run(ctx, inst.ID, backend.IO{Stdout: &out}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v, want context.Canceled", err)
	}
	close(release)
	if got := waitExited(t, b, inst.ID); got.ExitCode != 5 {
		t.Errorf("exit code %d, want 5: the agent should run on after the detach", got.ExitCode)
	}
	if out.String() != "before\n" {
		t.Errorf("caller got %q after detaching", out.String())
	}
	if got := b.Instance("x-bbbbb").Log(); got != "before\nafter\n" {
		t.Errorf("log = %q", got)
	}
}

func TestFailOnHookAndCalls(t *testing.T) {
	b := newFake(t)
	boom := errors.New("boom")
	b.FailOn(fake.OpCreate, boom)
	if _, err := b.Create(t.Context(), spec("x-ccccc")); !errors.Is(err, boom) {
		t.Fatalf("Create = %v, want boom", err)
	}
	b.FailOn(fake.OpCreate, nil)
	var hooked []string
	b.Hook(fake.OpRemove, func(c fake.Call) error {
		hooked = append(hooked, c.ID)
		return nil
	})
	if _, err := b.Create(t.Context(), spec("x-ccccc")); err != nil {
		t.Fatal(err)
	}
	if err := b.Remove(t.Context(), "bottle-x-ccccc"); err != nil {
		t.Fatal(err)
	}
	var ops []fake.Op
	for _, c := range b.Calls() {
		ops = append(ops, c.Op)
	}
	if want := []fake.Op{fake.OpCreate, fake.OpCreate, fake.OpRemove}; !slices.Equal(ops, want) {
		t.Errorf("calls %v, want %v", ops, want)
	}
	if creates := b.Calls(fake.OpCreate); len(creates) != 2 || creates[1].Spec.Identity != "x-ccccc" || creates[1].Seq != 2 {
		t.Errorf("Create calls %+v", creates)
	}
	if !slices.Equal(hooked, []string{"bottle-x-ccccc"}) {
		t.Errorf("hook saw %v", hooked)
	}
}

func TestMountsAndOwners(t *testing.T) {
	b := newFake(t)
	queue := t.TempDir()
	s := spec("x-ddddd")
	s.User = "1000:1001"
	s.Mounts = []backend.Mount{{Source: queue, Target: "/run/bottle/queue"}}
	inst, err := b.Create(t.Context(), s)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	_ = tw.WriteHeader(&tar.Header{Name: "d/", Typeflag: tar.TypeDir, Mode: 0o750, Uid: 7, Gid: 8})
	_ = tw.WriteHeader(&tar.Header{Name: "d/f", Typeflag: tar.TypeReg, Mode: 0o600, Uid: 7, Gid: 8, Size: 2})
	_, _ = tw.Write([]byte("hi"))
	_ = tw.Close()
	if err := b.CopyIn(t.Context(), inst.ID, "/home/a/w", &buf, nil); err != nil {
		t.Fatal(err)
	}
	in := b.Instance("x-ddddd")
	files, err := in.Walk("/home/a/w")
	if err != nil || len(files) != 2 || files[0].UID != 7 || files[1].GID != 8 || files[1].Mode.Perm() != 0o600 {
		t.Errorf("Walk = %+v, %v", files, err)
	}
	if err := in.WriteFile("/run/bottle/queue/r.json", []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	if data, err := os.ReadFile(filepath.Join(queue, "r.json")); err != nil || string(data) != "{}" {
		t.Errorf("host sees %q, %v", data, err)
	}
	if err := in.WriteFile("/tmp/own", nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if fi, _ := in.Stat("/tmp/own"); fi.UID != 1000 || fi.GID != 1001 {
		t.Errorf("a file the agent wrote is owned %d:%d, want the spec's user 1000:1001", fi.UID, fi.GID)
	}
}

func TestImagesBuildsAndLeftovers(t *testing.T) {
	b := newFake(t)
	var agentImage string
	b.SetAgent("base:1", func(ctx context.Context, in *fake.Instance, io backend.IO) int {
		agentImage = in.Spec().Image
		data, _ := in.ReadFile("/opt/tool")
		_, _ = io.Stdout.Write(data)
		return 0
	})
	var lines []string
	ref, err := b.EnsureImage(t.Context(), backend.Image{Ref: "base:1"}, backend.ProgressFunc(func(l string) { lines = append(lines, l) }))
	if err != nil || ref != "base:1" || !slices.Equal(lines, []string{"Pulling base:1"}) {
		t.Fatalf("pull: %q, %v, progress %q", ref, err, lines)
	}
	dir := t.TempDir()
	df := filepath.Join(dir, "Dockerfile")
	content := "FROM base:1\nRUN mkdir -p /opt && echo tool > /opt/tool\n"
	if err := os.WriteFile(df, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	img := backend.Image{Dockerfile: df, Context: dir, Tag: "bottle/x-eeeee:1", Labels: map[string]string{backend.LabelHome: "h1"}}
	for range 2 {
		if ref, err = b.EnsureImage(t.Context(), img, nil); err != nil || ref != img.Tag {
			t.Fatalf("build = %q, %v", ref, err)
		}
	}
	builds := b.Builds()
	if len(builds) != 1 || builds[0].Content != content || builds[0].Ref != img.Tag || builds[0].Labels[backend.LabelHome] != "h1" {
		t.Errorf("builds %+v, want the one build of %q", builds, content)
	}
	s := spec("x-eeeee")
	s.Image = ref
	inst, err := b.Create(t.Context(), s)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if code, err := b.Run(t.Context(), inst.ID, backend.IO{Stdout: &out}); code != 0 || err != nil || out.String() != "tool\n" {
		t.Errorf("run on the built image: %d, %v, %q", code, err, out.String())
	}
	if agentImage != img.Tag {
		t.Errorf("the base image's agent ran on %q", agentImage)
	}

	b.AddResource(backend.Resource{Kind: "volume", ID: "v1", Name: "v1", Identity: "other-fffff"})
	left, err := b.Leftovers(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range left {
		names = append(names, r.Kind+":"+r.Name)
	}
	if want := []string{"image:bottle/x-eeeee:1", "network:bottle-x-eeeee", "volume:v1"}; !slices.Equal(names, want) {
		t.Errorf("Leftovers %v, want %v", names, want)
	}
	for _, r := range left {
		if err := b.RemoveResource(t.Context(), r); err != nil {
			t.Fatal(err)
		}
	}
	if left, _ := b.Leftovers(t.Context()); len(left) != 0 || b.HasImage(img.Tag) {
		t.Errorf("after RemoveResource: %+v", left)
	}
}

func TestBuildFailure(t *testing.T) {
	b := newFake(t)
	dir := t.TempDir()
	df := filepath.Join(dir, "Dockerfile")
	if err := os.WriteFile(df, []byte("FROM img\nRUN exit 3\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := b.EnsureImage(t.Context(), backend.Image{Dockerfile: df, Context: dir}, nil)
	if err == nil || !strings.Contains(err.Error(), "non-zero code: 3") {
		t.Errorf("EnsureImage of a failing RUN = %v", err)
	}
	if len(b.Builds()) != 0 {
		t.Error("a failed build was recorded")
	}
}

// waitExited polls Inspect until the instance has exited.
func waitExited(t *testing.T, b *fake.Backend, id string) backend.Instance {
	t.Helper()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(10 * time.Second)
	for {
		inst, err := b.Inspect(t.Context(), id)
		if err != nil {
			t.Fatalf("Inspect: %v", err)
		}
		if inst.State == backend.StateExited {
			return inst
		}
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("%s is %s after 10s, want exited", id, inst.State)
		}
	}
}
