package docker

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"

	"github.com/bottle-dev/bottle/backend"
)

// These tests need no engine.

func TestReadStream(t *testing.T) {
	build := `{"stream":"Step 1/2 : FROM busybox\n"}
{"stream":" ---\u003e fadf06990488\n"}{"stream":"Step 2/2 : RUN echo hi"}
{"stream":"\n"}{"stream":"hi\n\n"}
{"aux":{"ID":"sha256:abc"}}
{"stream":"Successfully built abc"}`
	var lines []string
	id, err := readStream(strings.NewReader(build), backend.ProgressFunc(func(l string) { lines = append(lines, l) }))
	if err != nil || id != "sha256:abc" {
		t.Fatalf("readStream = %q, %v", id, err)
	}
	want := []string{"Step 1/2 : FROM busybox", " ---> fadf06990488", "Step 2/2 : RUN echo hi", "hi", "Successfully built abc"}
	if !slices.Equal(lines, want) {
		t.Errorf("lines %q\nwant  %q", lines, want)
	}

	pull := `{"status":"Pulling from library/x","id":"latest"}
{"status":"Downloading","progressDetail":{"current":1,"total":9},"progress":"[=>   ]","id":"a1"}
{"status":"Pull complete","id":"a1"}
{"status":"Status: Downloaded newer image for x:latest"}`
	lines = nil
	if _, err := readStream(strings.NewReader(pull), backend.ProgressFunc(func(l string) { lines = append(lines, l) })); err != nil {
		t.Fatal(err)
	}
	want = []string{"latest: Pulling from library/x", "a1: Pull complete", "Status: Downloaded newer image for x:latest"}
	if !slices.Equal(lines, want) {
		t.Errorf("pull lines %q, want %q (no progress-bar updates)", lines, want)
	}

	// A failure is a 200 response with an error message inside the stream.
	failed := `{"stream":"Step 2/2 : RUN exit 3\n"}
{"errorDetail":{"code":3,"message":"The command '/bin/sh -c exit 3' returned a non-zero code: 3"},"error":"The command '/bin/sh -c exit 3' returned a non-zero code: 3"}
{"stream":"never read\n"}`
	if _, err := readStream(strings.NewReader(failed), nil); err == nil || !strings.Contains(err.Error(), "non-zero code: 3") {
		t.Errorf("error in stream: %v", err)
	}
	if _, err := readStream(strings.NewReader(`{"stream":`), nil); err == nil {
		t.Error("truncated stream: no error")
	}
}

func TestWrap(t *testing.T) {
	if wrap(nil, "x") != nil {
		t.Error("wrap(nil) != nil")
	}
	nf := wrap(cerrdefs.ErrNotFound, "inspect %s", "bottle-a")
	if !errors.Is(nf, backend.ErrNotFound) || !errors.Is(nf, cerrdefs.ErrNotFound) || !strings.HasPrefix(nf.Error(), "inspect bottle-a: ") {
		t.Errorf("not found: %v", nf)
	}
	cf := wrap(cerrdefs.ErrConflict, "create")
	if !errors.Is(cf, backend.ErrConflict) || errors.Is(cf, backend.ErrNotFound) {
		t.Errorf("conflict: %v", cf)
	}
	other := wrap(errors.New("boom"), "start")
	if errors.Is(other, backend.ErrNotFound) || errors.Is(other, backend.ErrConflict) || other.Error() != "start: boom" {
		t.Errorf("other: %v", other)
	}
}

func TestTagIdentity(t *testing.T) {
	for tag, want := range map[string]string{
		"bottle/fixer-k3x9a":              "fixer-k3x9a",
		"bottle/fixer-k3x9a:0123456789ab": "fixer-k3x9a",
		"bottle-agent:0123456789abcdef":   "",
		"busybox:latest":                  "",
	} {
		if got := tagIdentity(tag); got != want {
			t.Errorf("tagIdentity(%q) = %q, want %q", tag, got, want)
		}
	}
}

func TestContainerConfig(t *testing.T) {
	spec := backend.Spec{
		Identity: "fixer-k3x9a", Bottle: "fixer", Agent: "claude", Image: "img",
		Command: []string{"claude"}, Env: []string{"A=1"}, Workdir: "/workspace", User: "agent",
		CPUs: 1.5, MemoryBytes: 1 << 30, OpenStdin: true,
		Mounts: []backend.Mount{{Source: "/h/run", Target: "/run/bottle", ReadOnly: true}, {Source: "/h/q", Target: "/run/bottle/queue"}},
		// A caller cannot unmanage a bottle through its extra labels.
		Labels: map[string]string{"team": "x", backend.LabelManaged: "false"},
	}
	labels := specLabels(spec)
	cfg, host := containerConfig(spec, "bottle-fixer-k3x9a", labels)
	if cfg.Labels[backend.LabelManaged] != "true" || cfg.Labels["team"] != "x" || cfg.Labels[backend.LabelIdentity] != "fixer-k3x9a" ||
		cfg.Labels[backend.LabelBottle] != "fixer" || cfg.Labels[backend.LabelAgent] != "claude" {
		t.Errorf("labels %v", cfg.Labels)
	}
	if !cfg.OpenStdin || !cfg.StdinOnce || cfg.Tty || cfg.User != "agent" || cfg.WorkingDir != "/workspace" {
		t.Errorf("config %+v", cfg)
	}
	if host.NanoCPUs != 1_500_000_000 || host.Memory != 1<<30 || host.Init == nil || !*host.Init || host.NetworkMode != "bottle-fixer-k3x9a" {
		t.Errorf("host config %+v", host)
	}
	if len(host.Mounts) != 2 || !host.Mounts[0].ReadOnly || host.Mounts[1].ReadOnly || host.Mounts[1].Target != "/run/bottle/queue" {
		t.Errorf("mounts %+v", host.Mounts)
	}
}

func TestRebase(t *testing.T) {
	var in bytes.Buffer
	tw := tar.NewWriter(&in)
	for _, h := range []*tar.Header{
		{Name: ".t/", Typeflag: tar.TypeDir, Mode: 0o700},
		{Name: ".t/a", Typeflag: tar.TypeReg, Mode: 0o644, Size: 1, Uid: 1000, PAXRecords: map[string]string{"SCHILY.xattr.user.k": "v"}},
		{Name: ".t/sub/", Typeflag: tar.TypeDir, Mode: 0o755},
		{Name: ".t/sub/h", Typeflag: tar.TypeLink, Linkname: ".t/a"},
		{Name: ".t/l", Typeflag: tar.TypeSymlink, Linkname: "/home/agent/.t/a"},
	} {
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Size > 0 {
			_, _ = tw.Write([]byte("x"))
		}
	}
	_ = tw.Close()

	var out bytes.Buffer
	if err := rebase(&in, &out, ".t"); err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(&out)
	var got []string
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, h.Name+">"+h.Linkname)
		if h.Name == "a" && (h.Uid != 1000 || h.PAXRecords["SCHILY.xattr.user.k"] != "v") {
			t.Errorf("a lost its owner or xattr: %+v", h)
		}
	}
	want := []string{"a>", "sub/>", "sub/h>a", "l>/home/agent/.t/a"}
	if !slices.Equal(got, want) {
		t.Errorf("rebased %q, want %q", got, want)
	}

	var bad bytes.Buffer
	tw = tar.NewWriter(&bad)
	_ = tw.WriteHeader(&tar.Header{Name: "other/x", Typeflag: tar.TypeReg})
	_ = tw.Close()
	if err := rebase(&bad, io.Discard, ".t"); err == nil {
		t.Error("entry outside the base: no error")
	}
}

// pullClient fakes the two calls of a pull; any other call panics.
type pullClient struct {
	APIClient
	stream string
	pulled []string
}

func (c *pullClient) ImageInspect(context.Context, string, ...client.ImageInspectOption) (image.InspectResponse, error) {
	return image.InspectResponse{}, cerrdefs.ErrNotFound
}

func (c *pullClient) ImagePull(_ context.Context, ref string, _ image.PullOptions) (io.ReadCloser, error) {
	c.pulled = append(c.pulled, ref)
	return io.NopCloser(strings.NewReader(c.stream)), nil
}

// TestPull covers pulls without a registry (tests never pull for real).
func TestPull(t *testing.T) {
	c := &pullClient{stream: `{"status":"Pulling from library/node","id":"22"}` + "\n" + `{"status":"Digest: sha256:1"}`}
	var lines []string
	ref, err := NewWithClient(c).EnsureImage(t.Context(), backend.Image{Ref: "node:22"}, backend.ProgressFunc(func(l string) { lines = append(lines, l) }))
	if err != nil || ref != "node:22" || !slices.Equal(c.pulled, []string{"node:22"}) {
		t.Fatalf("EnsureImage = %q, %v (pulled %q)", ref, err, c.pulled)
	}
	if want := []string{"Pulling node:22", "22: Pulling from library/node", "Digest: sha256:1"}; !slices.Equal(lines, want) {
		t.Errorf("progress %q, want %q", lines, want)
	}
	c = &pullClient{stream: `{"error":"manifest for node:nope not found"}`}
	if _, err := NewWithClient(c).EnsureImage(t.Context(), backend.Image{Ref: "node:nope"}, nil); err == nil || !strings.Contains(err.Error(), "manifest for node:nope not found") {
		t.Errorf("failed pull: %v", err)
	}
	if _, err := NewWithClient(c).EnsureImage(t.Context(), backend.Image{}, nil); err == nil {
		t.Error("empty image: no error")
	}
}

func TestOneImage(t *testing.T) {
	for in, want := range map[string]string{
		"bottle/demo-k3x9a":            "bottle/demo-k3x9a:latest",
		"bottle/demo-k3x9a:base":       "bottle/demo-k3x9a:base",
		"localhost:5000/agent":         "localhost:5000/agent:latest",
		"localhost:5000/agent:v1":      "localhost:5000/agent:v1",
		"busybox@sha256:0123456789abc": "busybox@sha256:0123456789abc",
		"sha256:0123456789abcdef":      "sha256:0123456789abcdef",
	} {
		if got := oneImage(in); got != want {
			t.Errorf("oneImage(%q) = %q, want %q", in, got, want)
		}
	}
}
