package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/bottle-dev/bottle/backend/buildctx"
	"github.com/bottle-dev/bottle/config"
	"github.com/bottle-dev/bottle/runner/changes"
	"github.com/bottle-dev/bottle/runner/state"
)

// launchTree is the recording of a copy-mode session's launch tree: its
// changes are later measured against it (bottle diff, export, the export
// at the session's end). A resume keeps the first launch's recording, so
// that what the session finally exports is all of the agent's work.
type launchTree struct {
	done chan struct{}
	err  error
}

// wait blocks until the recording is written (or failed).
func (t *launchTree) wait() error {
	if t == nil {
		return nil
	}
	<-t.done
	return t.err
}

// recordTree records the launch tree of s. When tap is non-nil the tree is
// read from it (the very stream copied into the bottle: the caller writes
// the stream to it and closes it); otherwise from the host folder, checked
// against fp (the fingerprint of what the bottle started from) so that a
// folder changed meanwhile is a warning rather than a wrong base.
func (r *Runner) recordTree(ctx context.Context, s *session, tap io.Reader, fp string) *launchTree {
	t := &launchTree{done: make(chan struct{})}
	if tap == nil && r.cachedTree(ctx, s) {
		close(t.done)
		return t
	}
	c := s.bottle.Cwd
	go func() {
		defer close(t.done)
		t.err = r.writeTree(ctx, s, c, tap, fp)
		if t.err != nil && tap != nil {
			_, _ = io.Copy(io.Discard, tap) // never stall the copy
		}
		if t.err != nil && ctx.Err() == nil {
			r.emit(EventWarning, s.dir.Identity, s.bottle.Name,
				"the launch tree was not recorded, so the workspace cannot be exported: "+t.err.Error())
		}
	}()
	return t
}

func (r *Runner) writeTree(ctx context.Context, s *session, c *config.Cwd, tap io.Reader, fp string) error {
	var m *changes.Manifest
	var err error
	if tap != nil {
		m, err = changes.Scan(ctx, tap, changes.DefaultLimits)
	} else {
		m, err = scanHost(ctx, c.Path, c.Exclude)
		if err == nil && fp != "" {
			now, ferr := buildctx.Fingerprint(ctx, c.Path, c.Exclude)
			if ferr == nil && now != fp {
				r.emit(EventWarning, s.dir.Identity, s.bottle.Name, c.Path+" changed on the host while the bottle started: "+
					"bottle diff and the export may count those host changes as the agent's")
			}
		}
	}
	if err != nil {
		return fmt.Errorf("record the launch tree of %s: %w", c.Path, err)
	}
	return r.saveTree(ctx, s, m, true)
}

// saveTree completes m with what may change without the folder's content
// (its git HEAD, the keep policy, the target) and writes it to the state
// dir, and to the cache when cache is set.
func (r *Runner) saveTree(ctx context.Context, s *session, m *changes.Manifest, cache bool) error {
	c := s.bottle.Cwd
	var err error
	m.Dir, m.Target = c.Path, c.Target
	if m.Git, err = changes.FindGit(ctx, c.Path); err != nil {
		return fmt.Errorf("record the launch tree of %s: %w", c.Path, err)
	}
	m.Keep = c.Keep
	if m.Keep == "" {
		m.Keep = config.KeepPatch
		if m.Git != nil && m.Git.Commit != "" {
			m.Keep = config.KeepBranch
		}
	}
	data, err := m.Encode()
	if err != nil {
		return err
	}
	if err := state.WriteFileAtomic(s.dir.Join(state.LaunchTreeFile), data, 0o600); err != nil {
		return err
	}
	if cache {
		r.cacheTree(s, data)
	}
	return nil
}

// treeCache is where launch trees are kept by cwd image key: the next
// bottle that starts from that image takes its tree from here rather than
// reading the folder again. One is kept per folder and bottle (family).
func (r *Runner) treeCache(family, key string) string {
	return filepath.Join(r.Home.Path, "cache", "cwd-tree-"+family+"-"+key+".json")
}

// cacheTree keeps a recorded tree under the session's cwd key, replacing
// those of older contents of the same folder. It is only a cache: failing
// costs the next launch a read of the folder.
func (r *Runner) cacheTree(s *session, data []byte) {
	if s.cwdKey == "" {
		return
	}
	p := r.treeCache(s.cwdFamily, s.cwdKey)
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return
	}
	if state.WriteFileAtomic(p, data, 0o600) != nil {
		return
	}
	old, _ := filepath.Glob(r.treeCache(s.cwdFamily, "*"))
	for _, o := range old {
		if o != p {
			_ = os.Remove(o)
		}
	}
}

// cachedTree records the tree cached for the session's cwd image as its
// launch tree; false when there is none.
func (r *Runner) cachedTree(ctx context.Context, s *session) bool {
	if s.cwdKey == "" {
		return false
	}
	m, err := changes.LoadManifest(r.treeCache(s.cwdFamily, s.cwdKey))
	if err != nil {
		return false
	}
	return r.saveTree(ctx, s, m, false) == nil
}

// scanHost reads the host folder as it would be copied in.
func scanHost(ctx context.Context, dir string, excludes []string) (*changes.Manifest, error) {
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(buildctx.Tar(ctx, dir, excludes, pw)) }()
	m, err := changes.Scan(ctx, pr, changes.DefaultLimits)
	_ = pr.CloseWithError(errors.New("scan ended"))
	return m, err
}

// loadTree reads the launch tree of dir.
func loadTree(dir *state.Dir) (*changes.Manifest, error) {
	m, err := changes.LoadManifest(dir.Join(state.LaunchTreeFile))
	if err != nil {
		return nil, fmt.Errorf("%s has no record of the tree it was launched with (only copy-mode bottles have one): %w", dir.Identity, err)
	}
	return m, nil
}

// tapTree starts recording the launch tree from the copy of the host
// folder that restore makes, and returns the writer the copy feeds; nil
// when there is nothing to record (a resume restores its snapshot, or the
// tree was recorded already).
func (r *Runner) tapTree(ctx context.Context, s *session, fromHost bool) *io.PipeWriter {
	if !fromHost || exists(s.dir.Join(state.LaunchTreeFile)) {
		return nil
	}
	tr, tw := io.Pipe()
	s.tree = r.recordTree(ctx, s, tr, "")
	return tw
}

// noteWorkspace records whether this launch's workspace comes with its
// image (state.InImageFile), for changesOf to take the engine's diff.
func noteWorkspace(s *session) error {
	p := s.dir.Join(state.InImageFile)
	if c := s.bottle.Cwd; c != nil && c.Copy && s.cwdInImage {
		return state.WriteFileAtomic(p, nil, 0o600)
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("launch %s: %w", s.dir.Identity, err)
	}
	return nil
}
