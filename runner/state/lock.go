package state

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"syscall"
	"time"
)

// ErrLocked means another process owns the lock.
var ErrLocked = errors.New("locked by another bottle process")

// lockPoll is how often Lock retries a held lock; flock itself cannot be
// interrupted by a context.
const lockPoll = 25 * time.Millisecond

// Lock is a held flock. Closing the file (or the process dying) releases it.
type Lock struct {
	f *os.File
}

// Unlock releases the lock.
func (l *Lock) Unlock() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}

// tryLock takes the lock file name (in LockDir) without waiting.
func (h Home) tryLock(name string) (*Lock, error) {
	if err := os.MkdirAll(h.LockDir(), 0o700); err != nil {
		return nil, fmt.Errorf("create lock dir: %w", err)
	}
	return tryFlock(filepath.Join(h.LockDir(), name+".lock"))
}

// tryFlock locks the file at path. The lock only counts while the file is
// still the one at path: SweepLocks removes stale lock files while holding
// their lock, so a process that opened one just before and locked it just
// after holds a lock on a file nobody else can find, and must try again on
// the path's new file.
func tryFlock(path string) (*Lock, error) {
	for attempt := 0; ; attempt++ {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			return nil, fmt.Errorf("open lock %s: %w", path, err)
		}
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
			_ = f.Close()
			if errors.Is(err, syscall.EWOULDBLOCK) {
				return nil, ErrLocked
			}
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		if stillAt(f, path) {
			return &Lock{f: f}, nil
		}
		_ = f.Close()
		if attempt >= 100 {
			return nil, fmt.Errorf("lock %s: the file keeps being replaced", path)
		}
	}
}

// stillAt reports whether the open file f is the file now at path.
func stillAt(f *os.File, path string) bool {
	held, err := f.Stat()
	if err != nil {
		return false
	}
	now, err := os.Stat(path)
	return err == nil && os.SameFile(held, now)
}

// TryLockOwner takes the owner lock of identity without waiting; it returns
// ErrLocked when another process owns the identity.
func (h Home) TryLockOwner(identity string) (*Lock, error) {
	if err := ValidateIdentity(identity); err != nil {
		return nil, err
	}
	return h.tryLock(identity)
}

// LockOwner waits until it owns identity or ctx is done. One process owns a
// launched identity at a time: the session that launched it holds the lock
// through its cleanup decision, so a resume waits for that decision.
func (h Home) LockOwner(ctx context.Context, identity string) (*Lock, error) {
	return waitLock(ctx, "the owner of "+identity, func() (*Lock, error) { return h.TryLockOwner(identity) })
}

// cacheKeyRE is what a cache lock's key may be: it becomes a file name.
var cacheKeyRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,99}$`)

// LockCache waits until it holds the lock of the cache entry key
// (lowercase letters, digits, '-') or ctx is done, so that one process
// fills an entry while the others wait and then find it filled.
func (h Home) LockCache(ctx context.Context, key string) (*Lock, error) {
	return waitLock(ctx, "cache entry "+key, func() (*Lock, error) { return h.TryLockCache(key) })
}

// TryLockCache takes the lock of the cache entry key without waiting; it
// returns ErrLocked while another process fills that entry.
func (h Home) TryLockCache(key string) (*Lock, error) {
	if !cacheKeyRE.MatchString(key) {
		return nil, fmt.Errorf("cache lock %q: invalid key", key)
	}
	return h.tryLock("cache-" + key)
}

// waitLock retries try until it stops reporting ErrLocked or ctx is done.
func waitLock(ctx context.Context, what string, try func() (*Lock, error)) (*Lock, error) {
	t := time.NewTicker(lockPoll)
	defer t.Stop()
	for {
		l, err := try()
		if !errors.Is(err, ErrLocked) {
			return l, err
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("wait for %s: %w", what, ctx.Err())
		case <-t.C:
		}
	}
}

// LockAnswer waits until it holds the lock that serialises the answers to
// identity's requests (approve, deny), or ctx is done. It is not the owner
// lock: the session that owns the identity runs while its requests are
// answered.
func (h Home) LockAnswer(ctx context.Context, identity string) (*Lock, error) {
	if err := ValidateIdentity(identity); err != nil {
		return nil, err
	}
	return waitLock(ctx, "the answers of "+identity, func() (*Lock, error) { return h.TryLockAnswer(identity) })
}

// TryLockAnswer takes the answer lock of identity without waiting; it
// returns ErrLocked while an approval or denial is being written.
func (h Home) TryLockAnswer(identity string) (*Lock, error) {
	if err := ValidateIdentity(identity); err != nil {
		return nil, err
	}
	return h.tryLock("answer-" + identity)
}

// TryLockWatch takes the lock that marks a running bottle watch.
func (h Home) TryLockWatch() (*Lock, error) {
	return h.tryLock("watch")
}

// WatchRunning reports whether a bottle watch holds its lock.
func (h Home) WatchRunning() bool {
	path := filepath.Join(h.LockDir(), "watch.lock")
	if _, err := os.Stat(path); err != nil {
		return false
	}
	l, err := tryFlock(path)
	if err != nil {
		return errors.Is(err, ErrLocked)
	}
	_ = l.Unlock()
	return false
}
