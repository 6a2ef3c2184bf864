package main

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/bottle-dev/bottle/backend"
	"github.com/bottle-dev/bottle/backend/kubernetes"
	"github.com/bottle-dev/bottle/runner/state"
)

// TestKubeGCRegistryImages: bottle gc --backend kubernetes removes from the
// registry the per-bottle images of identities that have no state dir in
// its home, and gc --dry-run lists them first. A preserved bottle's image
// (it resumes from it) and another home's stay.
func TestKubeGCRegistryImages(t *testing.T) {
	e, k := newKubeE2E(t)
	home := state.Home{Path: e.home}
	gone, kept, other := "kgc-gone-"+suffix5(), "kgc-kept-"+suffix5(), "kgc-other-"+suffix5()

	dir, err := home.Create(kept)
	if err != nil {
		t.Fatal(err)
	}
	if err := dir.MarkPreserved(); err != nil {
		t.Fatal(err)
	}
	digests := map[string]string{}
	for id, homeID := range map[string]string{gone: home.ID(), kept: home.ID(), other: "another-home"} {
		digests[id] = pushPerBottle(t, e, k, id, homeID)
	}

	r := e.mustRun("gc", "--dry-run", "--backend", "kubernetes")
	wantLine := func(out, verb, id string) {
		t.Helper()
		for line := range strings.Lines(out) {
			if strings.HasPrefix(line, verb+" ") && strings.Contains(line, " "+kubernetes.RegistryImageKind+" ") && strings.Contains(line, "/bottle/"+id+":") {
				return
			}
		}
		t.Errorf("gc output has no %q line for the registry image of %s:\n%s", verb, id, out)
	}
	wantLine(r.stdout, "would remove", gone)
	for _, id := range []string{kept, other} {
		if strings.Contains(r.stdout, id) {
			t.Errorf("gc --dry-run would remove something of %s:\n%s", id, r.stdout)
		}
	}
	for id, d := range digests {
		if !inRegistry(t, d) {
			t.Fatalf("gc --dry-run removed %s (%s)", d, id)
		}
	}

	r = e.mustRun("gc", "--backend", "kubernetes")
	wantLine(r.stdout, "removed", gone)
	if inRegistry(t, digests[gone]) {
		t.Errorf("%s is still in the registry after gc", digests[gone])
	}
	for _, id := range []string{kept, other} {
		if !inRegistry(t, digests[id]) {
			t.Errorf("gc removed %s, the image of %s", digests[id], id)
		}
	}
}

// pushPerBottle builds bottle/<id> labelled as a bottle of homeID would be,
// pushes it to the registry through the kubernetes backend (as a resume
// does), and returns its reference there by digest. Cleanup removes it
// from the registry and the engine.
func pushPerBottle(t *testing.T, e *e2e, k *kubernetes.Backend, id, homeID string) string {
	t.Helper()
	ctxDir := t.TempDir()
	df := filepath.Join(ctxDir, "Dockerfile")
	if err := os.WriteFile(df, []byte("FROM busybox:latest\nLABEL dev.bottle-test.nonce="+id+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	labels := map[string]string{backend.LabelManaged: "true", backend.LabelHome: homeID, backend.LabelIdentity: id}
	ref, err := k.EnsureImage(t.Context(), backend.Image{Dockerfile: df, Context: ctxDir, Tag: "bottle/" + id, Labels: labels}, nil)
	if err != nil {
		t.Fatalf("build and push bottle/%s: %v", id, err)
	}
	remoteRef := os.Getenv("BOTTLE_KUBE_REGISTRY") + "/" + ref
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		for _, tag := range []string{ref, remoteRef} {
			_ = e.be.RemoveResource(ctx, backend.Resource{Kind: "image", ID: tag, Name: tag})
		}
	})
	tag, err := name.NewTag(remoteRef)
	if err != nil {
		t.Fatal(err)
	}
	desc, err := remote.Head(tag, remote.WithContext(t.Context()))
	if err != nil {
		t.Fatalf("%s is not in the registry after the push: %v", remoteRef, err)
	}
	d := tag.Context().Digest(desc.Digest.String()).String()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_ = k.RemoveResource(ctx, backend.Resource{Kind: kubernetes.RegistryImageKind, ID: d, Name: d})
	})
	return d
}

// suffix5 is a random identity suffix.
func suffix5() string {
	const chars = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 5)
	for i := range b {
		b[i] = chars[rand.IntN(len(chars))]
	}
	return string(b)
}

// inRegistry reports whether the registry still has the manifest digest.
func inRegistry(t *testing.T, digest string) bool {
	t.Helper()
	ref, err := name.NewDigest(digest)
	if err != nil {
		t.Fatal(err)
	}
	_, err = remote.Head(ref, remote.WithContext(t.Context()))
	var te *transport.Error
	if errors.As(err, &te) && te.StatusCode == http.StatusNotFound {
		return false
	}
	if err != nil {
		t.Fatalf("head %s: %v", digest, err)
	}
	return true
}
