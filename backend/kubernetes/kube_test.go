package kubernetes

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/bottle-dev/bottle/backend"
	"github.com/bottle-dev/bottle/backend/backendtest"
	"github.com/bottle-dev/bottle/backend/docker"
)

// Tests on a real cluster run when BOTTLE_KUBE_TESTS=1, against the cluster
// of $KUBECONFIG, in $BOTTLE_KUBE_NAMESPACE, pushing to
// $BOTTLE_KUBE_REGISTRY: `eval "$(scripts/kube-up)"` sets all three. They
// also need the Docker engine (it builds and pushes the images).
const enableEnv = "BOTTLE_KUBE_TESTS"

// runLabel marks everything one test run creates; TestMain sweeps by it.
const runLabel = "dev.bottle.test-run"

var runID = fmt.Sprintf("kube-%d-%d", os.Getpid(), time.Now().UnixNano())

func TestMain(m *testing.M) {
	code := m.Run()
	if os.Getenv(enableEnv) == "1" {
		if err := sweep(); err != nil {
			fmt.Fprintf(os.Stderr, "sweep of %s=%s: %v\n", runLabel, runID, err)
			if code == 0 {
				code = 1
			}
		}
	}
	os.Exit(code)
}

// needCluster skips the test unless BOTTLE_KUBE_TESTS=1; with it set, a
// cluster that does not answer fails the test.
func needCluster(t *testing.T) (*Backend, *docker.Backend) {
	t.Helper()
	if os.Getenv(enableEnv) != "1" {
		t.Skipf("set %s=1 (after eval \"$(scripts/kube-up)\") to run against a real cluster", enableEnv)
	}
	images, err := docker.New(t.Context())
	if err != nil {
		t.Fatalf("docker.New: %v", err)
	}
	t.Cleanup(func() { images.Close() })
	b, err := New(Options{
		Kubeconfig: os.Getenv("KUBECONFIG"),
		Namespace:  os.Getenv("BOTTLE_KUBE_NAMESPACE"),
		Registry:   os.Getenv("BOTTLE_KUBE_REGISTRY"),
		Images:     images,
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := b.Ping(t.Context()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	if b.registry == "" {
		t.Fatal("BOTTLE_KUBE_REGISTRY is empty: the tests push their image there")
	}
	return b, images
}

// testImage pushes the local busybox:latest (scripts/docker-up) to the
// registry and returns its reference there.
func testImage(t *testing.T, b *Backend, images *docker.Backend) string {
	t.Helper()
	ref := b.registry + "/test-busybox:latest"
	if err := images.PushImage(t.Context(), "busybox:latest", ref); err != nil {
		t.Fatalf("push the test image: %v", err)
	}
	return ref
}

func TestConformance(t *testing.T) {
	b, images := needCluster(t)
	img := testImage(t, b, images)
	backendtest.Run(t, func(t *testing.T) backend.Backend { return b }, backendtest.Options{
		Image:  img,
		Labels: map[string]string{runLabel: runID},
	})
}

// sweep removes the Pods, policies and images this run left behind.
func sweep() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	b, err := New(Options{Kubeconfig: os.Getenv("KUBECONFIG"), Namespace: os.Getenv("BOTTLE_KUBE_NAMESPACE")})
	if err != nil {
		return err
	}
	sel := metav1.ListOptions{LabelSelector: runLabel + "=" + runID}
	var errs []string
	if err := b.cs.CoreV1().Pods(b.ns).DeleteCollection(ctx, metav1.DeleteOptions{}, sel); err != nil {
		errs = append(errs, err.Error())
	}
	if err := b.cs.NetworkingV1().NetworkPolicies(b.ns).DeleteCollection(ctx, metav1.DeleteOptions{}, sel); err != nil {
		errs = append(errs, err.Error())
	}
	out, err := exec.CommandContext(ctx, "docker", "image", "ls", "-q", "--filter", "label="+runLabel+"="+runID).Output()
	if ids := strings.Fields(string(out)); err == nil && len(ids) > 0 {
		if out, err := exec.CommandContext(ctx, "docker", append([]string{"rmi", "-f"}, ids...)...).CombinedOutput(); err != nil {
			errs = append(errs, fmt.Sprintf("docker rmi: %v: %s", err, out))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return nil
}
