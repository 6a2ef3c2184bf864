package runner_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/bottle-dev/bottle/backend"
	"github.com/bottle-dev/bottle/backend/fake"
	"github.com/bottle-dev/bottle/runner"
	"github.com/bottle-dev/bottle/runner/state"
)

// remoteFake is the fake backend with images in a registry, as the
// kubernetes backend has them: listed by RemoteLeftovers, which can fail
// part-way, and removed by RemoveResource.
type remoteFake struct {
	*fake.Backend
	remote  []backend.Resource
	listErr error
	removed []string
}

func (f *remoteFake) RemoteLeftovers(context.Context) ([]backend.Resource, error) {
	return slices.Clone(f.remote), f.listErr
}

func (f *remoteFake) RemoveResource(ctx context.Context, r backend.Resource) error {
	if r.Kind != "registry-image" {
		return f.Backend.RemoveResource(ctx, r)
	}
	f.removed = append(f.removed, r.ID)
	return nil
}

// TestGCRemoteImages: gc judges a backend's registry images as it judges
// its local leftovers (this home's, identity without a state dir), lists
// them with --dry-run, and a registry that could only be listed in part
// does not keep gc from what was listed, nor from the local leftovers; its
// error is returned.
func TestGCRemoteImages(t *testing.T) {
	home := state.Home{Path: t.TempDir()}
	kept, err := home.Create("kept-aaaaa")
	if err != nil {
		t.Fatal(err)
	}
	if err := kept.MarkPreserved(); err != nil {
		t.Fatal(err)
	}
	ours := func(id string) map[string]string {
		return map[string]string{backend.LabelHome: home.ID(), backend.LabelIdentity: id}
	}
	f := &remoteFake{Backend: fake.New(), listErr: errors.New("registry: list the tags of reg/bottle/broken-aaaaa: unauthorized")}
	f.remote = []backend.Resource{
		{Kind: "registry-image", ID: "reg/bottle/gone-aaaaa@sha256:1", Name: "reg/bottle/gone-aaaaa:latest", Identity: "gone-aaaaa", Labels: ours("gone-aaaaa")},
		{Kind: "registry-image", ID: "reg/bottle/kept-aaaaa@sha256:2", Name: "reg/bottle/kept-aaaaa:latest", Identity: "kept-aaaaa", Labels: ours("kept-aaaaa")},
		{Kind: "registry-image", ID: "reg/bottle/other-aaaaa@sha256:3", Name: "reg/bottle/other-aaaaa:latest", Identity: "other-aaaaa",
			Labels: map[string]string{backend.LabelHome: "another-home", backend.LabelIdentity: "other-aaaaa"}},
	}
	f.AddResource(backend.Resource{Kind: "network", ID: "net-gone", Name: "bottle-gone-aaaaa", Identity: "gone-aaaaa", Labels: ours("gone-aaaaa")})
	r := &runner.Runner{Home: home, Backend: func(string) (backend.Backend, error) { return f, nil }}

	lines, err := r.GCWith(t.Context(), []string{backend.Docker}, runner.GCOptions{DryRun: true})
	if err == nil || !strings.Contains(err.Error(), "unauthorized") {
		t.Errorf("gc --dry-run error = %v; want the registry's", err)
	}
	if !hasLine(lines, "registry-image reg/bottle/gone-aaaaa:latest") || !hasLine(lines, "network bottle-gone-aaaaa") {
		t.Errorf("gc --dry-run lines %q; want the registry image and the network of gone-aaaaa", lines)
	}
	if hasLine(lines, "kept-aaaaa") || hasLine(lines, "other-aaaaa") || len(f.removed) != 0 {
		t.Errorf("gc --dry-run lines %q, removed %v; want only gone-aaaaa's, nothing removed", lines, f.removed)
	}

	lines, err = r.GCWith(t.Context(), []string{backend.Docker}, runner.GCOptions{})
	if err == nil || !strings.Contains(err.Error(), "unauthorized") {
		t.Errorf("gc error = %v; want the registry's", err)
	}
	if !slices.Equal(f.removed, []string{"reg/bottle/gone-aaaaa@sha256:1"}) {
		t.Errorf("gc removed %v from the registry; want only gone-aaaaa's image", f.removed)
	}
	res, _ := f.Backend.Leftovers(t.Context())
	if len(res) != 0 || !hasLine(lines, "network bottle-gone-aaaaa") {
		t.Errorf("gc lines %q, leftovers after %v; want the network removed despite the registry's error", lines, res)
	}
}

func hasLine(lines []string, part string) bool {
	return slices.ContainsFunc(lines, func(l string) bool { return strings.Contains(l, part) })
}
