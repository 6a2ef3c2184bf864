package docker

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/stdcopy"

	"github.com/bottle-dev/bottle/backend"
	"github.com/bottle-dev/bottle/backend/backendtest"
)

// Tests on a real engine run when BOTTLE_DOCKER_TESTS=1 (see
// scripts/docker-up); they always compile.
const enableEnv = "BOTTLE_DOCKER_TESTS"

// runLabel marks everything one test run creates; TestMain sweeps by it.
const runLabel = "dev.bottle.test-run"

// runID is this test binary's value of runLabel.
var runID = fmt.Sprintf("%d-%d", os.Getpid(), time.Now().UnixNano())

// testImage is the base image: local (scripts/docker-up builds it FROM
// scratch), never pulled.
func testImage() string {
	if img := os.Getenv("BOTTLE_TEST_IMAGE"); img != "" {
		return img
	}
	return "busybox:latest"
}

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

// sweep removes whatever this run left behind, containers first so their
// networks and images are free.
func sweep() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return err
	}
	defer c.Close()
	f := filters.NewArgs(filters.Arg("label", runLabel+"="+runID))
	var errs []string
	cs, err := c.ContainerList(ctx, container.ListOptions{All: true, Filters: f})
	if err != nil {
		return err
	}
	for _, ct := range cs {
		if err := c.ContainerRemove(ctx, ct.ID, container.RemoveOptions{Force: true}); err != nil {
			errs = append(errs, err.Error())
		}
	}
	nets, err := c.NetworkList(ctx, network.ListOptions{Filters: f})
	if err != nil {
		return err
	}
	for _, n := range nets {
		if err := c.NetworkRemove(ctx, n.ID); err != nil {
			errs = append(errs, err.Error())
		}
	}
	// Top-level images only: removing one prunes its untagged parents.
	// An image can still be the parent of another (a build that reused a
	// cached step), so retry the ones that failed while others go.
	imgs, err := c.ImageList(ctx, image.ListOptions{Filters: f})
	if err != nil {
		return err
	}
	for range 5 {
		var failed []image.Summary
		for _, im := range imgs {
			if _, err := c.ImageRemove(ctx, im.ID, image.RemoveOptions{Force: true, PruneChildren: true}); err != nil && !isNotFound(err) {
				failed = append(failed, im)
			}
		}
		if len(failed) == 0 || len(failed) == len(imgs) {
			imgs = failed
			break
		}
		imgs = failed
	}
	for _, im := range imgs {
		errs = append(errs, "image "+im.ID+" could not be removed")
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return nil
}

// engine returns a backend on the real engine, skipping when the tests are
// not enabled and failing when they are but the engine does not answer.
func engine(t testing.TB) *Backend {
	t.Helper()
	if os.Getenv(enableEnv) != "1" {
		t.Skipf("set %s=1 to run against a Docker engine (scripts/docker-up starts one)", enableEnv)
	}
	b, err := New(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	if err := b.Ping(ctx); err != nil {
		t.Fatalf("%s=1 but the engine does not answer within 2s: %v", enableEnv, err)
	}
	return b
}

func TestConformance(t *testing.T) {
	engine(t) // skip or fail once, before the parallel cases
	backendtest.Run(t, func(t *testing.T) backend.Backend { return engine(t) }, backendtest.Options{
		Image:  testImage(),
		Labels: map[string]string{runLabel: runID},
	})
}

// TestSmoke runs a container through the bare client: if this fails, the
// engine or the test image is broken, not the backend.
func TestSmoke(t *testing.T) {
	b := engine(t)
	c := b.c
	ctx := t.Context()
	resp, err := c.ContainerCreate(ctx, &container.Config{
		Image:  testImage(),
		Cmd:    []string{"echo", "hello from the engine"},
		Labels: map[string]string{runLabel: runID},
	}, nil, nil, nil, "")
	t.Cleanup(func() {
		if resp.ID != "" {
			_ = c.ContainerRemove(context.Background(), resp.ID, container.RemoveOptions{Force: true})
		}
	})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	waitC, errC := c.ContainerWait(ctx, resp.ID, container.WaitConditionNextExit)
	if err := c.ContainerStart(ctx, resp.ID, container.StartOptions{}); err != nil {
		t.Fatalf("start: %v", err)
	}
	select {
	case res := <-waitC:
		if res.StatusCode != 0 {
			t.Fatalf("exit %d", res.StatusCode)
		}
	case err := <-errC:
		t.Fatalf("wait: %v", err)
	}
	rc, err := c.ContainerLogs(ctx, resp.ID, container.LogsOptions{ShowStdout: true})
	if err != nil {
		t.Fatalf("logs: %v", err)
	}
	defer rc.Close()
	var out bytes.Buffer
	if _, err := stdcopy.StdCopy(&out, &out, rc); err != nil {
		t.Fatalf("read logs: %v", err)
	}
	if out.String() != "hello from the engine\n" {
		t.Errorf("output %q", out.String())
	}
}
