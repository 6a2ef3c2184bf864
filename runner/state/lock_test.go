package state

import (
	"bufio"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// waitFor is how long a test waits for something that should happen at
// once; it only bounds a failing test.
const waitFor = 10 * time.Second

func TestTryLockOwner(t *testing.T) {
	h := newHome(t)
	l1, err := h.TryLockOwner(testIdentity)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.TryLockOwner(testIdentity); !errors.Is(err, ErrLocked) {
		t.Fatalf("second TryLockOwner = %v, want ErrLocked", err)
	}
	// Another identity is independent.
	l2, err := h.TryLockOwner("other-zzzzz")
	if err != nil {
		t.Fatalf("TryLockOwner of another identity: %v", err)
	}
	if err := l2.Unlock(); err != nil {
		t.Fatal(err)
	}
	if err := l1.Unlock(); err != nil {
		t.Fatal(err)
	}
	l3, err := h.TryLockOwner(testIdentity)
	if err != nil {
		t.Fatalf("TryLockOwner after Unlock: %v", err)
	}
	if err := l3.Unlock(); err != nil {
		t.Fatal(err)
	}
	// Unlock is idempotent, also on a nil lock.
	if err := l3.Unlock(); err != nil {
		t.Errorf("second Unlock: %v", err)
	}
	var nilLock *Lock
	if err := nilLock.Unlock(); err != nil {
		t.Errorf("nil Unlock: %v", err)
	}
	// The lock lives outside the state dirs, so removing one never drops it.
	if _, err := os.Stat(filepath.Join(h.LockDir(), testIdentity+".lock")); err != nil {
		t.Errorf("lock file: %v", err)
	}
	if _, err := os.Stat(h.StateRoot()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("locking created the state root (%v)", err)
	}
}

func TestTryLockOwnerValidates(t *testing.T) {
	h := newHome(t)
	for _, id := range []string{"", "../x", "watch", "a/b-k3x9a"} {
		if l, err := h.TryLockOwner(id); err == nil {
			_ = l.Unlock()
			t.Errorf("TryLockOwner(%q) succeeded", id)
		}
		if l, err := h.LockOwner(t.Context(), id); err == nil || errors.Is(err, ErrLocked) {
			_ = l.Unlock()
			t.Errorf("LockOwner(%q) = %v, want a validation error", id, err)
		}
	}
}

func TestLockIsPerOpenFile(t *testing.T) {
	// flock belongs to an open file description: another descriptor of the
	// same file, even in this process, sees the lock.
	h := newHome(t)
	l, err := h.TryLockOwner(testIdentity)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(h.LockDir(), testIdentity+".lock"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if !errors.Is(err, syscall.EWOULDBLOCK) {
		t.Fatalf("flock on a second descriptor = %v, want EWOULDBLOCK", err)
	}
	if err := l.Unlock(); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		t.Fatalf("flock after Unlock: %v", err)
	}
	if _, err := h.TryLockOwner(testIdentity); !errors.Is(err, ErrLocked) {
		t.Errorf("TryLockOwner while another descriptor holds the lock = %v, want ErrLocked", err)
	}
}

func TestLockOwnerWaits(t *testing.T) {
	h := newHome(t)
	held, err := h.TryLockOwner(testIdentity)
	if err != nil {
		t.Fatal(err)
	}
	type result struct {
		l   *Lock
		err error
	}
	done := make(chan result, 1)
	go func() {
		l, err := h.LockOwner(t.Context(), testIdentity)
		done <- result{l, err}
	}()
	select {
	case r := <-done:
		t.Fatalf("LockOwner returned while the lock was held: %v", r.err)
	default:
	}
	if err := held.Unlock(); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-done:
		if r.err != nil {
			t.Fatalf("LockOwner: %v", r.err)
		}
		if _, err := h.TryLockOwner(testIdentity); !errors.Is(err, ErrLocked) {
			t.Errorf("LockOwner returned without holding the lock (TryLockOwner = %v)", err)
		}
		_ = r.l.Unlock()
	case <-time.After(waitFor):
		t.Fatal("LockOwner did not return after the lock was released")
	}
}

func TestLockOwnerFree(t *testing.T) {
	h := newHome(t)
	l, err := h.LockOwner(t.Context(), testIdentity)
	if err != nil {
		t.Fatal(err)
	}
	_ = l.Unlock()
}

func TestLockOwnerContext(t *testing.T) {
	h := newHome(t)
	held, err := h.TryLockOwner(testIdentity)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Unlock()

	t.Run("cancel", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() {
			_, err := h.LockOwner(ctx, testIdentity)
			done <- err
		}()
		cancel()
		select {
		case err := <-done:
			if !errors.Is(err, context.Canceled) {
				t.Errorf("err = %v, want context.Canceled", err)
			}
			if err != nil && !strings.Contains(err.Error(), testIdentity) {
				t.Errorf("error %q does not name the identity", err)
			}
		case <-time.After(waitFor):
			t.Fatal("LockOwner ignored the cancellation")
		}
	})
	t.Run("deadline", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
		defer cancel()
		_, err := h.LockOwner(ctx, testIdentity)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("err = %v, want context.DeadlineExceeded", err)
		}
	})
}

func TestWatchLock(t *testing.T) {
	h := newHome(t)
	if h.WatchRunning() {
		t.Fatal("WatchRunning with no lock file")
	}
	l, err := h.TryLockWatch()
	if err != nil {
		t.Fatal(err)
	}
	if !h.WatchRunning() {
		t.Error("WatchRunning = false while the watch lock is held")
	}
	if _, err := h.TryLockWatch(); !errors.Is(err, ErrLocked) {
		t.Errorf("second TryLockWatch = %v, want ErrLocked", err)
	}
	// The watch lock and the owner locks are distinct.
	ol, err := h.TryLockOwner(testIdentity)
	if err != nil {
		t.Errorf("owner lock while watching: %v", err)
	}
	_ = ol.Unlock()
	if err := l.Unlock(); err != nil {
		t.Fatal(err)
	}
	if h.WatchRunning() {
		t.Error("WatchRunning = true after Unlock (lock file left behind)")
	}
	// WatchRunning must not leave the lock taken.
	l, err = h.TryLockWatch()
	if err != nil {
		t.Fatalf("TryLockWatch after WatchRunning: %v", err)
	}
	_ = l.Unlock()
}

// Cross-process tests re-execute the test binary as a lock holder.

const helperEnv = "BOTTLE_STATE_LOCK_HELPER"

// TestHelperLockHolder is not a test: run by startHolder in a child process,
// it takes a lock, says "locked" and holds it until stdin closes.
func TestHelperLockHolder(t *testing.T) {
	kind := os.Getenv(helperEnv)
	if kind == "" {
		t.Skip("helper process only")
	}
	h := Home{Path: os.Getenv("BOTTLE_HOME")}
	var l *Lock
	var err error
	switch kind {
	case "owner":
		l, err = h.TryLockOwner(testIdentity)
	case "watch":
		l, err = h.TryLockWatch()
	}
	if err != nil {
		os.Stdout.WriteString("error: " + err.Error() + "\n")
		os.Exit(1)
	}
	os.Stdout.WriteString("locked\n")
	_, _ = io.Copy(io.Discard, os.Stdin)
	_ = l.Unlock()
	os.Exit(0)
}

// startHolder starts a child that holds the lock of kind ("owner" or
// "watch") and returns once it holds it. Closing stdin releases it.
func startHolder(t *testing.T, h Home, kind string) (*exec.Cmd, io.WriteCloser) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestHelperLockHolder$", "-test.count=1")
	// GORACE: a -race binary otherwise sleeps a second at exit.
	cmd.Env = append(os.Environ(), helperEnv+"="+kind, "BOTTLE_HOME="+h.Path, "GORACE=atexit_sleep_ms=0")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = stdin.Close()
		_ = cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if line != "locked\n" {
		t.Fatalf("helper said %q (%v)", line, err)
	}
	return cmd, stdin
}

func TestOwnerLockAcrossProcesses(t *testing.T) {
	h := newHome(t)
	cmd, stdin := startHolder(t, h, "owner")
	if _, err := h.TryLockOwner(testIdentity); !errors.Is(err, ErrLocked) {
		t.Fatalf("TryLockOwner while another process holds it = %v, want ErrLocked", err)
	}
	done := make(chan error, 1)
	go func() {
		l, err := h.LockOwner(t.Context(), testIdentity)
		if err == nil {
			_ = l.Unlock()
		}
		done <- err
	}()
	if err := stdin.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("LockOwner after the other process released: %v", err)
		}
	case <-time.After(waitFor):
		t.Fatal("LockOwner did not return after the other process released the lock")
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("helper: %v", err)
	}
}

func TestOwnerLockReleasedWhenProcessDies(t *testing.T) {
	h := newHome(t)
	cmd, _ := startHolder(t, h, "owner")
	if _, err := h.TryLockOwner(testIdentity); !errors.Is(err, ErrLocked) {
		t.Fatalf("TryLockOwner = %v, want ErrLocked", err)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	ctx, cancel := context.WithTimeout(t.Context(), waitFor)
	defer cancel()
	l, err := h.LockOwner(ctx, testIdentity)
	if err != nil {
		t.Fatalf("lock still held after its owner was killed: %v", err)
	}
	_ = l.Unlock()
}

func TestWatchRunningAcrossProcesses(t *testing.T) {
	h := newHome(t)
	cmd, stdin := startHolder(t, h, "watch")
	if !h.WatchRunning() {
		t.Error("WatchRunning = false while another process watches")
	}
	if _, err := h.TryLockWatch(); !errors.Is(err, ErrLocked) {
		t.Errorf("TryLockWatch = %v, want ErrLocked", err)
	}
	_ = stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("helper: %v", err)
	}
	if h.WatchRunning() {
		t.Error("WatchRunning = true after the watch process ended")
	}
}
