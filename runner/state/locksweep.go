package state

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// SweepLocks removes the lock files of identities that have no state dir
// and whose lock no process holds: one is left behind by every identity
// (its owner and answer locks), and nothing else would ever remove them.
// The watch lock and the cache locks are not an identity's and stay. It
// returns the names of the files it removed.
func (h Home) SweepLocks() ([]string, error) {
	entries, err := os.ReadDir(h.LockDir())
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("sweep locks: %w", err)
	}
	var removed []string
	var errs []error
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".lock")
		if !ok || !e.Type().IsRegular() || !h.identityLock(name) {
			continue
		}
		path := filepath.Join(h.LockDir(), e.Name())
		l, err := tryFlock(path)
		if err != nil {
			continue // held: a live process owns it
		}
		// Removed while held, and checked again under the lock: a launch
		// that took the lock and made its state dir in between keeps it.
		if !h.identityLock(name) {
			_ = l.Unlock()
			continue
		}
		rerr := os.Remove(path)
		_ = l.Unlock()
		if rerr != nil {
			errs = append(errs, fmt.Errorf("sweep lock %s: %w", name, rerr))
			continue
		}
		removed = append(removed, e.Name())
	}
	return removed, errors.Join(errs...)
}

// identityLock reports whether the lock file name (without ".lock") belongs
// to an identity that has no state dir. Its identity is the whole name (an
// owner lock) or what follows a prefix such as "answer-"; every way of
// reading it must name an identity without a state dir, so that an owner
// lock of an identity that happens to look prefixed is never taken for
// another one's.
func (h Home) identityLock(name string) bool {
	if name == "watch" || strings.HasPrefix(name, "cache-") {
		return false
	}
	found := false
	for i := -1; i < len(name); i++ {
		if i >= 0 && name[i] != '-' {
			continue
		}
		id := name[i+1:]
		if ValidateIdentity(id) != nil {
			continue
		}
		found = true
		if _, err := os.Lstat(filepath.Join(h.StateRoot(), id)); !errors.Is(err, os.ErrNotExist) {
			return false
		}
	}
	return found
}
