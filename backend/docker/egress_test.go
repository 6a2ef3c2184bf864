package docker

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/image"

	"github.com/bottle-dev/bottle/backend"
	"github.com/bottle-dev/bottle/backend/egress"
)

// TestEgressProxyFailureFailsClosed: the proxy starts beside the launch
// (PrepareNetwork, or Create alone), but a proxy that never serves fails
// Create and leaves no bottle container to start, by either path.
func TestEgressProxyFailureFailsClosed(t *testing.T) {
	t.Parallel()
	b := engine(t)
	// busybox as the proxy binary: it knows no egress-proxy applet and
	// exits at once, without reporting ready.
	b.SetProxy("/bin/busybox", nil)
	tag, err := b.CurrentProxyImage(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_, _ = b.c.ImageRemove(ctx, tag, image.RemoveOptions{Force: true, PruneChildren: true})
	})
	for _, prepared := range []bool{true, false} {
		spec := newSpec("sleep", "300")
		spec.Egress = &backend.EgressSpec{Policy: egress.Policy{Identity: spec.Identity}}
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if err := b.Remove(ctx, backend.InstanceName(spec.Identity)); err != nil {
				t.Errorf("cleanup: %v", err)
			}
		})
		if prepared {
			if err := b.PrepareNetwork(t.Context(), spec); err != nil {
				t.Fatal(err)
			}
		}
		_, err := b.Create(t.Context(), spec)
		if err == nil || !strings.Contains(err.Error(), "egress proxy") {
			t.Fatalf("prepared %v: Create with a proxy that never serves: %v", prepared, err)
		}
		if _, err := b.Inspect(t.Context(), backend.InstanceName(spec.Identity)); !errors.Is(err, backend.ErrNotFound) {
			t.Errorf("prepared %v: a bottle container is left to start (%v)", prepared, err)
		}
	}
}
