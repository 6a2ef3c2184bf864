package buildctx

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/moby/patternmatcher"
)

// entry is one file system object found by walk.
type entry struct {
	rel  string      // slash-separated path relative to the walked root
	path string      // host path
	info fs.FileInfo // from Lstat: symlinks are never followed
}

// walker visits a directory tree in lexical order (os.ReadDir sorts), so the
// tar streams and hashes built on it are deterministic.
type walker struct {
	root string
	pm   *patternmatcher.PatternMatcher // nil when nothing is excluded
	// skip holds root-level names the caller writes itself (the build
	// context's Dockerfile and .dockerignore).
	skip map[string]bool
	// sel, when set, picks the entries fn sees (visit) and the directories
	// walked into (descend); Hash uses it to read only what a Dockerfile
	// can COPY.
	sel func(entry) (visit, descend bool, err error)
	fn  func(entry) error
}

// newMatcher compiles exclude patterns the way the docker CLI reads a
// .dockerignore: cleaned, slash-separated, leading "/" removed, blanks dropped.
func newMatcher(excludes []string) (*patternmatcher.PatternMatcher, error) {
	var pats []string
	for _, p := range excludes {
		p = strings.TrimSpace(p)
		invert := strings.HasPrefix(p, "!")
		if invert {
			p = strings.TrimSpace(p[1:])
		}
		if p == "" {
			continue
		}
		p = filepath.ToSlash(filepath.Clean(p))
		if len(p) > 1 {
			p = strings.TrimPrefix(p, "/")
		}
		if invert {
			p = "!" + p
		}
		pats = append(pats, p)
	}
	if len(pats) == 0 {
		return nil, nil
	}
	pm, err := patternmatcher.New(pats)
	if err != nil {
		return nil, fmt.Errorf("exclude patterns: %w", err)
	}
	return pm, nil
}

// walk calls w.fn for every included entry below w.root (not the root
// itself), parents before children.
func (w *walker) walk(ctx context.Context) error {
	fi, err := os.Stat(w.root)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s: not a directory", w.root)
	}
	return w.dir(ctx, w.root, "", patternmatcher.MatchInfo{})
}

func (w *walker) dir(ctx context.Context, dir, rel string, parent patternmatcher.MatchInfo) error {
	// One cancellation check per directory keeps the per-file path free of
	// extra work while still stopping a large walk promptly.
	if err := ctx.Err(); err != nil {
		return err
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, d := range ents {
		name := d.Name()
		r := name
		if rel != "" {
			r = rel + "/" + name
		} else if w.skip[name] {
			continue
		}
		var mi patternmatcher.MatchInfo
		excluded := false
		if w.pm != nil {
			excluded, mi, err = w.pm.MatchesUsingParentResults(r, parent)
			if err != nil {
				return fmt.Errorf("match %s: %w", r, err)
			}
		}
		p := filepath.Join(dir, name)
		if excluded {
			// An excluded directory is still entered when an exception
			// pattern names something inside it; the directory's own entry
			// is left out, exactly as the docker CLI does.
			if d.IsDir() && w.exceptionBelow(r) {
				if err := w.dir(ctx, p, r, mi); err != nil {
					return err
				}
			}
			continue
		}
		// d.Info is an lstat, the one stat per entry that the header needs.
		info, err := d.Info()
		if errors.Is(err, fs.ErrNotExist) {
			continue // removed while walking: nothing to copy
		}
		if err != nil {
			return err
		}
		e := entry{rel: r, path: p, info: info}
		visit, descend := true, true
		if w.sel != nil {
			if visit, descend, err = w.sel(e); err != nil {
				return err
			}
		}
		if visit {
			if err := w.fn(e); err != nil {
				return err
			}
		}
		if info.IsDir() && descend {
			if err := w.dir(ctx, p, r, mi); err != nil {
				return err
			}
		}
	}
	return nil
}

// exceptionBelow reports whether an exception pattern may re-include a path
// under the excluded directory rel (the docker CLI's rule, kept identical so
// a build context matches what `docker build` would send).
func (w *walker) exceptionBelow(rel string) bool {
	if !w.pm.Exclusions() {
		return false
	}
	prefix := rel + "/"
	for _, p := range w.pm.Patterns() {
		if p.Exclusion() && strings.HasPrefix(p.String()+"/", prefix) {
			return true
		}
	}
	return false
}
