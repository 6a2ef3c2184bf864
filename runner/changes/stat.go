package changes

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
)

// Stat is one change in brief.
type Stat struct {
	Path    string `json:"path"`
	Kind    Kind   `json:"change"`
	Type    Type   `json:"type"`
	OldMode string `json:"old_mode,omitempty"`
	NewMode string `json:"new_mode,omitempty"`
	Binary  bool   `json:"binary,omitempty"`
	// Added and Removed count the lines of a text change.
	Added   int `json:"added_lines"`
	Removed int `json:"removed_lines"`
}

// Stats describes the changes under paths (all when empty).
func (s *Set) Stats(ctx context.Context, base *Manifest, paths []string) ([]Stat, error) {
	var out []Stat
	for i := range s.Changes {
		c := &s.Changes[i]
		if !selected(c.Path, paths) {
			continue
		}
		st := Stat{Path: c.Path, Kind: c.Kind}
		var old, new []byte
		var err error
		if c.Old != nil {
			st.Type, st.OldMode = c.Old.Type, c.Old.GitMode()
			if old, err = base.BaseContent(ctx, c.Old); err != nil {
				return nil, err
			}
		}
		if c.New != nil {
			st.Type, st.NewMode = c.New.Type, c.New.GitMode()
			if new, err = s.NewContent(c); err != nil {
				return nil, err
			}
		}
		if st.Binary = isBinary(old) || isBinary(new); !st.Binary {
			for _, l := range bytes.Split(hunks(old, new), []byte("\n")) {
				switch {
				case bytes.HasPrefix(l, []byte("+")):
					st.Added++
				case bytes.HasPrefix(l, []byte("-")):
					st.Removed++
				}
			}
		}
		out = append(out, st)
	}
	return out, nil
}

// WriteStat writes one line per change and a total. Paths are written as
// they are: a caller printing to a terminal escapes them.
func WriteStat(w io.Writer, stats []Stat) error {
	var add, del int
	for _, st := range stats {
		detail := ""
		switch {
		case st.Binary:
			detail = "binary"
		default:
			detail = fmt.Sprintf("+%d -%d", st.Added, st.Removed)
		}
		if st.OldMode != "" && st.NewMode != "" && st.OldMode != st.NewMode {
			detail += fmt.Sprintf(", mode %s → %s", st.OldMode, st.NewMode)
		}
		if st.Type == Symlink {
			detail += ", symlink"
		}
		if _, err := fmt.Fprintf(w, "  %-8s %s (%s)\n", st.Kind, st.Path, detail); err != nil {
			return err
		}
		add += st.Added
		del += st.Removed
	}
	_, err := fmt.Fprintf(w, "%d files changed, %d lines added, %d removed\n", len(stats), add, del)
	return err
}

// WriteFolder writes the changed files and symlinks under dir (created; an
// existing one must be empty) and returns the deleted paths. Everything is
// written through an os.Root on dir, so no name or link reaches outside it.
func (s *Set) WriteFolder(dir string, paths []string) (deleted []string, err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("export to %s: %w", dir, err)
	}
	if ents, err := os.ReadDir(dir); err != nil || len(ents) > 0 {
		return nil, fmt.Errorf("export to %s: the folder is not empty: name a new or empty one", dir)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("export to %s: %w", dir, err)
	}
	defer root.Close()
	for i := range s.Changes {
		c := &s.Changes[i]
		if !selected(c.Path, paths) {
			continue
		}
		if c.New == nil {
			deleted = append(deleted, c.Path)
			continue
		}
		if d := path.Dir(c.Path); d != "." {
			if err := root.MkdirAll(d, 0o755); err != nil {
				return nil, fmt.Errorf("export %s: %w", c.Path, err)
			}
		}
		if c.New.Type == Symlink {
			if err := root.Symlink(c.New.Link, c.Path); err != nil {
				return nil, fmt.Errorf("export %s: %w", c.Path, err)
			}
			continue
		}
		if err := s.copyBlob(root, c); err != nil {
			return nil, err
		}
	}
	return deleted, nil
}

func (s *Set) copyBlob(root *os.Root, c *Change) error {
	src, err := s.Store.Open(c.Blob)
	if err != nil {
		return fmt.Errorf("export %s: %w", c.Path, err)
	}
	defer src.Close()
	mode := os.FileMode(0o644)
	if c.New.Mode&0o111 != 0 {
		mode = 0o755
	}
	f, err := root.OpenFile(c.Path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return fmt.Errorf("export %s: %w", c.Path, err)
	}
	_, werr := io.Copy(f, src)
	if err := errors.Join(werr, f.Close()); err != nil {
		return fmt.Errorf("export %s: %w", c.Path, err)
	}
	return nil
}
