package kubernetes

import (
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/bottle-dev/bottle/backend"
)

// pushLabelled pushes a small random image with labels to ref and returns
// its reference by digest.
func pushLabelled(t *testing.T, ref string, labels map[string]string) string {
	t.Helper()
	img, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cfg = cfg.DeepCopy()
	cfg.Config.Labels = labels
	if img, err = mutate.ConfigFile(img, cfg); err != nil {
		t.Fatal(err)
	}
	tag := mustTag(t, ref)
	if err := remote.Write(tag, img, remote.WithContext(t.Context())); err != nil {
		t.Fatalf("push %s: %v", ref, err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return tag.Context().Digest(d.String()).String()
}

func mustTag(t *testing.T, ref string) name.Tag {
	t.Helper()
	tag, err := name.NewTag(ref)
	if err != nil {
		t.Fatal(err)
	}
	return tag
}

func exists(t *testing.T, digest string) bool {
	t.Helper()
	ref, err := name.NewDigest(digest)
	if err != nil {
		t.Fatal(err)
	}
	_, err = remote.Head(ref, remote.WithContext(t.Context()))
	if statusOf(err) == http.StatusNotFound {
		return false
	}
	if err != nil {
		t.Fatalf("head %s: %v", digest, err)
	}
	return true
}

func labelsOfBottle(identity string) map[string]string {
	return map[string]string{backend.LabelManaged: "true", backend.LabelHome: "h1", backend.LabelIdentity: identity}
}

// TestRemoteLeftovers lists and deletes per-bottle images in a registry
// (an in-memory one speaking the distribution API): only the
// <registry>/bottle/<identity> repositories, only images whose identity
// label names their repository, one Resource per digest.
func TestRemoteLeftovers(t *testing.T) {
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	b := &Backend{registry: host + "/team"}

	latest := pushLabelled(t, host+"/team/bottle/id-a:latest", labelsOfBottle("id-a"))
	base := pushLabelled(t, host+"/team/bottle/id-a:base", labelsOfBottle("id-a"))
	// Not bottle's per-bottle images: a label naming another identity,
	// the shared agent images, a nested name, another path.
	pushLabelled(t, host+"/team/bottle/id-b:latest", labelsOfBottle("id-other"))
	pushLabelled(t, host+"/team/bottle-agent:abc", labelsOfBottle("id-a"))
	pushLabelled(t, host+"/team/bottle/x/y:latest", labelsOfBottle("y"))
	foreign := pushLabelled(t, host+"/other/bottle/id-c:latest", labelsOfBottle("id-c"))
	// An index is not an image bottle pushed.
	idx, err := random.Index(64, 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(mustTag(t, host+"/team/bottle/id-d:latest"), idx); err != nil {
		t.Fatal(err)
	}
	// A second tag of one image is one resource.
	ld, err := name.NewDigest(latest)
	if err != nil {
		t.Fatal(err)
	}
	again, err := remote.Get(ld)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Tag(mustTag(t, host+"/team/bottle/id-a:other"), again); err != nil {
		t.Fatal(err)
	}

	got, err := b.RemoteLeftovers(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range got {
		if r.Kind != RegistryImageKind || r.Identity != "id-a" || r.Labels[backend.LabelHome] != "h1" {
			t.Errorf("resource %+v: want a registry-image of id-a labelled with home h1", r)
		}
		ids = append(ids, r.ID)
	}
	slices.Sort(ids)
	want := []string{base, latest}
	slices.Sort(want)
	if !slices.Equal(ids, want) {
		t.Fatalf("RemoteLeftovers IDs = %v, want %v", ids, want)
	}

	for _, r := range got {
		if r.ID == latest {
			if err := b.RemoveResource(t.Context(), r); err != nil {
				t.Fatalf("RemoveResource(%s): %v", r.ID, err)
			}
			// Gone already counts as removed.
			if err := b.RemoveResource(t.Context(), r); err != nil {
				t.Fatalf("RemoveResource(%s) again: %v", r.ID, err)
			}
		}
	}
	if exists(t, latest) {
		t.Errorf("%s is still in the registry after RemoveResource", latest)
	}
	if !exists(t, base) {
		t.Errorf("%s went with another image", base)
	}

	// Only the per-bottle images of this registry path are removed.
	err = b.RemoveResource(t.Context(), backend.Resource{Kind: RegistryImageKind, ID: foreign, Name: foreign})
	if err == nil || !strings.Contains(err.Error(), "not a per-bottle image") {
		t.Errorf("RemoveResource of %s: %v, want a refusal", foreign, err)
	}
	if !exists(t, foreign) {
		t.Errorf("%s was removed", foreign)
	}
}

// TestRemoteLeftoversDeleteRefused: a registry without deletes gets an
// error that says how to enable them.
func TestRemoteLeftoversDeleteRefused(t *testing.T) {
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodDelete {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusMethodNotAllowed)
			_, _ = w.Write([]byte(`{"errors":[{"code":"UNSUPPORTED","message":"The operation is unsupported."}]}`))
			return
		}
		reg.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	b := &Backend{registry: host}
	d := pushLabelled(t, host+"/bottle/id-a:latest", labelsOfBottle("id-a"))
	got, err := b.RemoteLeftovers(t.Context())
	if err != nil || len(got) != 1 || got[0].ID != d {
		t.Fatalf("RemoteLeftovers = %v, %v; want %s", got, err, d)
	}
	err = b.RemoveResource(t.Context(), got[0])
	if err == nil || !strings.Contains(err.Error(), "storage.delete.enabled") {
		t.Fatalf("RemoveResource on a registry without deletes: %v, want the fix named", err)
	}
}
