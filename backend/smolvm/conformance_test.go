package smolvm

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/bottle-dev/bottle/backend"
	"github.com/bottle-dev/bottle/backend/backendtest"
	"github.com/bottle-dev/bottle/backend/docker"
)

// runLabel marks the images the suite builds in Docker, so TestMain can
// remove them; runID is this test binary's value.
const runLabel = "dev.bottle.test-run"

var runID = fmt.Sprintf("smolvm-%d-%d", os.Getpid(), time.Now().UnixNano())

// TestConformance runs the backend conformance suite against the fake
// smolvm, with the Docker backend as image source (builds, docker save).
func TestConformance(t *testing.T) {
	needDocker(t)
	images, err := docker.New(t.Context())
	if err != nil {
		t.Fatalf("docker.New: %v", err)
	}
	t.Cleanup(func() { images.Close() })
	backendtest.Run(t, func(t *testing.T) backend.Backend { return newTestBackend(t, images) }, backendtest.Options{
		Image:  "busybox:latest",
		Labels: map[string]string{runLabel: runID},
		// Built images live in Docker; smolvm only gets archives of them.
		NoImageLeftovers: true,
	})
}

// sweepImages removes the images this run built.
func sweepImages() {
	out, err := exec.Command("docker", "image", "ls", "-q", "--filter", "label="+runLabel+"="+runID).Output()
	if ids := strings.Fields(string(out)); err == nil && len(ids) > 0 {
		exec.Command("docker", append([]string{"rmi", "-f"}, ids...)...).Run() //nolint:errcheck // best-effort cleanup
	}
}
