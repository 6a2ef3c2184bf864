// Package watch turns fsnotify events under bottle's state root into
// debounced batches of changed paths. It watches directories, never single
// files (writers replace files by rename), two levels deep: the state root,
// each identity dir, and each identity's queue. It knows nothing of HCL or
// backends.
package watch

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Options tune a Watcher.
type Options struct {
	// Quiet is how long no event must arrive before a batch is flushed.
	Quiet time.Duration
	// MaxDelay caps how long a batch may wait while events keep coming.
	MaxDelay time.Duration
	// Immediate names files directly in an identity dir whose appearance
	// flushes the batch at once, without waiting for quiet: a trigger
	// written last, by rename, is complete when it appears. Only that
	// exact place counts: a file of the same name deeper down (in the
	// queue, which the agent writes) is debounced like any other, or the
	// agent could make every one of its writes a flush and rescan.
	Immediate []string
}

// DefaultOptions suit the state root.
var DefaultOptions = Options{Quiet: 100 * time.Millisecond, MaxDelay: time.Second}

// Run watches root and sends batches of changed paths on out until ctx is
// done; it closes out when it returns. Chmod events and temp files
// (dot-prefixed names) are dropped. New identity dirs and their queue
// folders are watched as they appear.
func Run(ctx context.Context, root string, opts Options, out chan<- []string) error {
	defer close(out)
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("watch %s: %w", root, err)
	}
	defer w.Close()
	if err := add(w, root, 0); err != nil {
		return err
	}
	var (
		batch   = map[string]bool{}
		quiet   *time.Timer
		quietC  <-chan time.Time
		maxC    <-chan time.Time
		maxWait *time.Timer
	)
	flush := func() bool {
		if len(batch) == 0 {
			return true
		}
		paths := make([]string, 0, len(batch))
		for p := range batch {
			paths = append(paths, p)
		}
		batch = map[string]bool{}
		quietC, maxC = nil, nil
		select {
		case out <- paths:
			return true
		case <-ctx.Done():
			return false
		}
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case _, ok := <-w.Errors:
			if !ok {
				return nil
			}
			// Events were lost (an overflow), or a watched folder went
			// away under inotify (EINVAL): neither may end the watch.
			// Report the root so the consumer rescans everything.
			batch[root] = true
			continue
		case ev, ok := <-w.Events:
			if !ok {
				return nil
			}
			if ev.Op == fsnotify.Chmod || strings.HasPrefix(filepath.Base(ev.Name), ".") && !strings.HasPrefix(filepath.Base(ev.Name), ".preserve") {
				continue
			}
			if ev.Op.Has(fsnotify.Create) {
				if depth, ok := depthOf(root, ev.Name); ok && depth < 2 {
					if fi, err := os.Lstat(ev.Name); err == nil && fi.IsDir() && watched(depth+1, ev.Name) {
						// A new identity dir (or its queue): watch it and
						// report what it already holds.
						_ = add(w, ev.Name, depth+1)
					}
				}
			}
			batch[ev.Name] = true
			if immediate(root, ev.Name, opts.Immediate) {
				if !flush() {
					return nil
				}
				continue
			}
			if quiet == nil {
				quiet = time.NewTimer(opts.Quiet)
				maxWait = time.NewTimer(opts.MaxDelay)
			} else {
				quiet.Reset(opts.Quiet)
			}
			quietC = quiet.C
			if maxC == nil {
				maxWait.Reset(opts.MaxDelay)
				maxC = maxWait.C
			}
		case <-quietC:
			if !flush() {
				return nil
			}
		case <-maxC:
			if !flush() {
				return nil
			}
		}
	}
}

// immediate reports whether path is <root>/<identity>/<name> with name in
// names.
func immediate(root, path string, names []string) bool {
	depth, ok := depthOf(root, path)
	return ok && depth == 1 && slices.Contains(names, filepath.Base(path))
}

// add watches dir and, below depth 2, its subdirectories.
func add(w *fsnotify.Watcher, dir string, depth int) error {
	if err := w.Add(dir); err != nil {
		if errors.Is(err, os.ErrNotExist) && depth > 0 {
			return nil // gone again already
		}
		return fmt.Errorf("watch %s: %w (on Linux, raise fs.inotify.max_user_watches if the limit is reached)", dir, err)
	}
	if depth >= 2 {
		return nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		if e.IsDir() && watched(depth+1, p) {
			_ = add(w, p, depth+1)
		}
	}
	return nil
}

// watched says which folders are watched: the identity dirs below the root
// and their queue. Snapshot folders (transcript/, workspace/) are replaced
// wholesale by approvals and hold nothing a watcher acts on.
func watched(depth int, path string) bool {
	name := filepath.Base(path)
	if strings.HasPrefix(name, ".") {
		return false
	}
	return depth == 1 || (depth == 2 && name == "queue")
}

func depthOf(root, path string) (int, bool) {
	rel, err := filepath.Rel(root, path)
	if err != nil || rel == "." || strings.HasPrefix(rel, "..") {
		return 0, false
	}
	return strings.Count(rel, string(filepath.Separator)), true
}
