package state

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
)

// Home is bottle's root directory ($BOTTLE_HOME, default ~/.bottle).
type Home struct {
	Path string
}

// HomeFromEnv returns the Home named by BOTTLE_HOME, or ~/.bottle.
func HomeFromEnv(getenv func(string) string) (Home, error) {
	if p := getenv("BOTTLE_HOME"); p != "" {
		abs, err := filepath.Abs(p)
		if err != nil {
			return Home{}, fmt.Errorf("BOTTLE_HOME: %w", err)
		}
		return Home{Path: abs}, nil
	}
	h := getenv("HOME")
	if h == "" {
		var err error
		if h, err = os.UserHomeDir(); err != nil {
			return Home{}, fmt.Errorf("find the home directory (set BOTTLE_HOME): %w", err)
		}
	}
	return Home{Path: filepath.Join(h, ".bottle")}, nil
}

// ID is a short stable name for this home, put on every resource its
// bottles create (backend.LabelHome).
func (h Home) ID() string {
	sum := sha256.Sum256([]byte(h.Path))
	return hex.EncodeToString(sum[:6])
}

// StateRoot is the folder that holds one directory per identity.
func (h Home) StateRoot() string { return filepath.Join(h.Path, "state") }

// LockDir holds the per-identity owner locks. They live outside the state
// dirs so that removing a state dir never unlinks a lock someone waits on,
// and so that nothing mounted into a bottle can reach them.
func (h Home) LockDir() string { return filepath.Join(h.Path, "locks") }

// Dir returns the state dir of identity after validating it. The directory
// need not exist.
func (h Home) Dir(identity string) (*Dir, error) {
	if err := ValidateIdentity(identity); err != nil {
		return nil, err
	}
	return &Dir{Identity: identity, Path: filepath.Join(h.StateRoot(), identity)}, nil
}

// Create makes the state dir of identity (and its queue) and returns it.
func (h Home) Create(identity string) (*Dir, error) {
	d, err := h.Dir(identity)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(h.StateRoot(), 0o700); err != nil {
		return nil, fmt.Errorf("create state root: %w", err)
	}
	if err := os.Mkdir(d.Path, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("create state dir: %w", err)
	}
	// The queue is mounted read-write into the bottle; agents in images with
	// a non-root USER must be able to write it.
	q := filepath.Join(d.Path, QueueDir)
	if err := os.Mkdir(q, 0o777); err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("create queue: %w", err)
	}
	if err := os.Chmod(q, 0o777|os.ModeSticky); err != nil {
		return nil, fmt.Errorf("create queue: %w", err)
	}
	return d, nil
}

// Open returns the existing state dir of identity, or an error wrapping
// fs.ErrNotExist that says how to find the identities that exist.
func (h Home) Open(identity string) (*Dir, error) {
	d, err := h.Dir(identity)
	if err != nil {
		return nil, err
	}
	fi, err := os.Lstat(d.Path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("no state for %s in %s (see bottle ls): %w", identity, h.StateRoot(), fs.ErrNotExist)
		}
		return nil, fmt.Errorf("open state dir: %w", err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("state dir %s is not a directory", d.Path)
	}
	return d, nil
}

// Identities lists the identities that have a state dir, sorted. Entries
// that are not valid identities are returned in invalid, so that callers can
// show them instead of silently dropping them.
func (h Home) Identities() (ids, invalid []string, err error) {
	entries, err := os.ReadDir(h.StateRoot())
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil, nil
		}
		return nil, nil, fmt.Errorf("list state dirs: %w", err)
	}
	for _, e := range entries {
		if !e.IsDir() || ValidateIdentity(e.Name()) != nil {
			invalid = append(invalid, e.Name())
			continue
		}
		ids = append(ids, e.Name())
	}
	sort.Strings(ids)
	return ids, invalid, nil
}
