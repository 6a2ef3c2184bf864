package smolvm

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/bottle-dev/bottle/backend"
	"github.com/bottle-dev/bottle/backend/backendtest"
	"github.com/bottle-dev/bottle/backend/docker"
)

// TestRealSmolvm runs the conformance suite against a real smolvm (from
// BOTTLE_SMOLVM, else PATH) when BOTTLE_SMOLVM_REAL=1, with the local
// Docker engine as image source. smolvm needs /dev/kvm, so this cannot run
// on hosts without it; every other test then runs against the fake.
func TestRealSmolvm(t *testing.T) {
	if os.Getenv("BOTTLE_SMOLVM_REAL") != "1" {
		t.Skip("set BOTTLE_SMOLVM_REAL=1 (with smolvm, /dev/kvm and Docker) to test a real smolvm")
	}
	b, err := New(Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := b.Ping(ctx); err != nil {
		t.Fatalf("Ping the real smolvm %s: %v", b.bin, err)
	}
	images, err := docker.New(t.Context())
	if err != nil {
		t.Fatalf("the real-smolvm test builds and saves images with Docker: %v", err)
	}
	t.Cleanup(func() { images.Close() })
	image := os.Getenv("BOTTLE_TEST_IMAGE")
	if image == "" {
		image = "busybox:latest"
	}
	backendtest.Run(t, func(t *testing.T) backend.Backend { return newTestBackend(t, images) }, backendtest.Options{
		Image:            image,
		Labels:           map[string]string{runLabel: runID},
		NoImageLeftovers: true,
	})
}
