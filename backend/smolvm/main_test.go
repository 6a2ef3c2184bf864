package smolvm

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// testRoot holds the fake binary and every test's smolvm data dir; the
// fake labels its containers with their data dir, so TestMain can sweep
// whatever a test left behind.
var (
	testRoot string
	fakeBin  string
	dirSeq   atomic.Int64
)

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	var err error
	if testRoot, err = os.MkdirTemp("", "smolvm-test-"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(testRoot)
	if os.Getenv("BOTTLE_SMOLVM_REAL") != "1" {
		// Build the fake as "smolvm", first on PATH and in BOTTLE_SMOLVM.
		binDir := filepath.Join(testRoot, "bin")
		fakeBin = filepath.Join(binDir, "smolvm")
		build := exec.Command("go", "build", "-o", fakeBin, "./fakesmolvm")
		if out, err := build.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "build fakesmolvm: %v\n%s", err, out)
			return 1
		}
		os.Setenv("PATH", binDir+string(os.PathListSeparator)+os.Getenv("PATH"))
		os.Setenv("BOTTLE_SMOLVM", fakeBin)
		defer sweepFakeContainers(testRoot)
	}
	if os.Getenv("BOTTLE_DOCKER_TESTS") == "1" {
		defer sweepImages()
	}
	return m.Run()
}

// sweepFakeContainers removes the fake's containers and volumes whose data
// dir lies under root.
func sweepFakeContainers(root string) {
	for _, kind := range []struct {
		list   []string
		format string
		remove []string
	}{
		{[]string{"ps", "-a"}, `{{.ID}} {{.Label "dev.bottle.fakesmolvm.root"}}`, []string{"rm", "-f", "-v"}},
		{[]string{"volume", "ls"}, `{{.Name}} {{.Label "dev.bottle.fakesmolvm.root"}}`, []string{"volume", "rm", "-f"}},
	} {
		args := append(append([]string{}, kind.list...), "--filter", "label=dev.bottle.fakesmolvm", "--format", kind.format)
		out, err := exec.Command("docker", args...).Output()
		if err != nil {
			return
		}
		var ids []string
		for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			if id, r, ok := strings.Cut(line, " "); ok && (r == root || strings.HasPrefix(r, root+"/")) {
				ids = append(ids, id)
			}
		}
		if len(ids) > 0 {
			exec.Command("docker", append(kind.remove, ids...)...).Run() //nolint:errcheck // best-effort cleanup
		}
	}
}

// newTestBackend returns a Backend on the fake with its own smolvm data
// dir and host DataDir; the binary comes from BOTTLE_SMOLVM (set by TestMain).
func newTestBackend(t *testing.T, images ImageSource) *Backend {
	t.Helper()
	smolData := filepath.Join(testRoot, fmt.Sprintf("data-%d", dirSeq.Add(1)))
	if err := os.MkdirAll(smolData, 0o755); err != nil {
		t.Fatal(err)
	}
	b, err := New(Options{Images: images, DataDir: t.TempDir(), PollInterval: 100 * time.Millisecond,
		Env: []string{"SMOLVM_DATA_DIR=" + smolData}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sweepFakeContainers(smolData) })
	return b
}

// fakeCLI runs the fake directly (to set up machines the backend did not
// create) against b's data dir.
func fakeCLI(t *testing.T, b *Backend, stdin string, args ...string) string {
	t.Helper()
	cmd := exec.Command(b.bin, args...)
	cmd.Env = append(os.Environ(), b.env...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("smolvm %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// needDocker skips unless BOTTLE_DOCKER_TESTS=1; when set, Docker must
// answer within 2 s and have busybox:latest (scripts/docker-up).
func needDocker(t *testing.T) {
	t.Helper()
	if os.Getenv("BOTTLE_DOCKER_TESTS") != "1" {
		t.Skip("set BOTTLE_DOCKER_TESTS=1 (after scripts/docker-up) to run the fake-smolvm tests that need Docker")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "docker", "image", "inspect", "busybox:latest").CombinedOutput(); err != nil {
		t.Fatalf("Docker with busybox:latest did not answer: %v: %s", err, out)
	}
}
