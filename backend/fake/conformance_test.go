package fake_test

import (
	"testing"

	"github.com/bottle-dev/bottle/backend"
	"github.com/bottle-dev/bottle/backend/backendtest"
	"github.com/bottle-dev/bottle/backend/fake"
)

// TestConformance runs the whole suite, every case, with no Options
// switched off: the fake's shell runs the suite's scripts, its builder its
// Dockerfiles, and its terminal takes resizes.
func TestConformance(t *testing.T) {
	backendtest.Run(t, func(t *testing.T) backend.Backend {
		b := fake.New()
		b.AddImage("busybox:latest", nil)
		return b
	}, backendtest.Options{Image: "busybox:latest", Labels: map[string]string{"dev.bottle.test-run": "fake"}})
}
