package changes

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"
)

// Store keeps the changed contents read out of a bottle in a private
// temporary folder, each under a number rather than the name the bottle
// gave it, with a cap on their total size.
type Store struct {
	dir  string
	root *os.Root
	max  int64

	mu    sync.Mutex
	n     int
	total int64
}

// NewStore makes a store in a new folder under parent ("" for the system's
// temporary folder) holding at most max bytes. Close removes it.
func NewStore(parent string, max int64) (*Store, error) {
	dir, err := os.MkdirTemp(parent, "bottle-changes-")
	if err != nil {
		return nil, fmt.Errorf("make a folder for the changes: %w", err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("make a folder for the changes: %w", err)
	}
	return &Store{dir: dir, root: root, max: max}, nil
}

// Close removes the store's folder and everything in it.
func (s *Store) Close() error {
	return errors.Join(s.root.Close(), os.RemoveAll(s.dir))
}

// Put copies r (of at most size bytes) into a new blob and returns its name.
func (s *Store) Put(r io.Reader, size int64) (string, error) {
	s.mu.Lock()
	s.total += size
	over := s.total > s.max
	s.n++
	name := strconv.Itoa(s.n)
	s.mu.Unlock()
	if over {
		return "", fmt.Errorf("the changed files add up to more than %d bytes: %w", s.max, ErrTooLarge)
	}
	f, err := s.root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", fmt.Errorf("keep a changed file: %w", err)
	}
	n, werr := io.Copy(f, io.LimitReader(r, size))
	if werr == nil && n != size {
		werr = io.ErrUnexpectedEOF
	}
	if err := errors.Join(werr, f.Close()); err != nil {
		return "", fmt.Errorf("keep a changed file: %w", err)
	}
	return name, nil
}

// Open opens a blob Put returned.
func (s *Store) Open(name string) (*os.File, error) {
	return s.root.Open(name)
}

// Path is the host path of a blob Put returned (for git hash-object).
func (s *Store) Path(name string) string {
	return s.dir + string(os.PathSeparator) + name
}

// ReadAll reads a blob Put returned.
func (s *Store) ReadAll(name string) ([]byte, error) {
	f, err := s.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}

// Remove drops a blob that turned out not to be needed.
func (s *Store) Remove(name string, size int64) error {
	s.mu.Lock()
	s.total -= size
	s.mu.Unlock()
	return s.root.Remove(name)
}
