package watch

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// collect runs the watcher on root and returns its batches channel.
func collect(t *testing.T, root string, opts Options) <-chan []string {
	t.Helper()
	out := make(chan []string, 16)
	errc := make(chan error, 1)
	go func() { errc <- Run(t.Context(), root, opts, out) }()
	t.Cleanup(func() {
		if err := <-errc; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return out
}

// until repeats act (the watcher may not be registered yet when a test
// starts) until a batch names path, and fails after within. Any batch for
// which reject returns true fails the test.
func until(t *testing.T, batches <-chan []string, path string, within time.Duration, act func(), reject func([]string) bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		act()
		select {
		case b := <-batches:
			if reject != nil && reject(b) {
				t.Fatalf("unexpected batch %v", b)
			}
			if slices.Contains(b, path) {
				return
			}
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("no batch named %s within %s", path, within)
		}
	}
}

func write(t *testing.T, path string) {
	t.Helper()
	if err := os.WriteFile(path, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestNewIdentityDirsAndQueuesAreWatched(t *testing.T) {
	root := t.TempDir()
	batches := collect(t, root, Options{Quiet: 20 * time.Millisecond, MaxDelay: time.Second})
	id := filepath.Join(root, "demo-abcde")
	until(t, batches, id, 10*time.Second, func() {
		_ = os.Remove(filepath.Join(id, "queue"))
		_ = os.Remove(id)
		if err := os.MkdirAll(filepath.Join(id, "queue"), 0o755); err != nil {
			t.Fatal(err)
		}
	}, nil)
	// The queue made together with the dir is watched too.
	req := filepath.Join(id, "queue", "r1.json")
	until(t, batches, req, 10*time.Second, func() { write(t, req) }, nil)
}

func TestTempFilesAndSnapshotsAreIgnored(t *testing.T) {
	root := t.TempDir()
	id := filepath.Join(root, "demo-abcde")
	for _, d := range []string{"queue", "transcript"} {
		if err := os.MkdirAll(filepath.Join(id, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	batches := collect(t, root, Options{Quiet: 20 * time.Millisecond, MaxDelay: time.Second})
	marker := filepath.Join(id, "audit.jsonl")
	until(t, batches, marker, 10*time.Second, func() {
		write(t, filepath.Join(id, ".metadata.json.tmp-1"))
		write(t, filepath.Join(id, "transcript", "log"))
		write(t, marker)
	}, func(b []string) bool {
		for _, p := range b {
			if filepath.Base(p) == ".metadata.json.tmp-1" || filepath.Base(filepath.Dir(p)) == "transcript" {
				return true
			}
		}
		return false
	})
}

func TestImmediateFlushesWithoutWaitingForQuiet(t *testing.T) {
	root := t.TempDir()
	id := filepath.Join(root, "demo-abcde")
	if err := os.MkdirAll(id, 0o755); err != nil {
		t.Fatal(err)
	}
	// A quiet period far longer than the test's deadline: only Immediate
	// can deliver the batch in time.
	batches := collect(t, root, Options{Quiet: time.Hour, MaxDelay: time.Hour, Immediate: []string{"Dockerfile"}})
	df := filepath.Join(id, "Dockerfile")
	until(t, batches, df, 10*time.Second, func() { write(t, df) }, nil)
}

// A file named like the trigger in the queue (which the agent writes) is
// debounced like any other file: only the identity dir's own Dockerfile
// flushes at once.
func TestImmediateOnlyInTheIdentityDir(t *testing.T) {
	root := t.TempDir()
	id := filepath.Join(root, "demo-abcde")
	if err := os.MkdirAll(filepath.Join(id, "queue"), 0o755); err != nil {
		t.Fatal(err)
	}
	batches := collect(t, root, Options{Quiet: time.Hour, MaxDelay: time.Hour, Immediate: []string{"Dockerfile"}})
	queueDF := filepath.Join(id, "queue", "Dockerfile")
	df := filepath.Join(id, "Dockerfile")
	// Each round writes the queue's file first: if it flushed by itself, a
	// batch would hold it without the identity dir's Dockerfile.
	until(t, batches, df, 10*time.Second, func() {
		write(t, queueDF)
		write(t, df)
	}, func(b []string) bool {
		return slices.Contains(b, queueDF) && !slices.Contains(b, df)
	})
	for _, p := range []string{filepath.Join(root, "Dockerfile"), filepath.Join(id, "queue", "sub", "Dockerfile")} {
		if immediate(root, p, []string{"Dockerfile"}) {
			t.Errorf("%s counts as the trigger", p)
		}
	}
}
