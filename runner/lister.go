package runner

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/bottle-dev/bottle/runner/state"
)

// Lister is Overview for a caller that refreshes often and is told which
// files changed (the dashboard, fed by runner/watch): it keeps the last
// read of every state dir and re-reads only those the changed paths name.
// The engines are asked on every refresh, since no file tells when an
// agent ends, and the bottles that hold their own copy of the queue
// (backend.QueueSyncer) are read on every refresh too, since no file event
// tells of a request filed there. A Lister is safe for concurrent use.
type Lister struct {
	r      *Runner
	mu     sync.Mutex
	loaded bool
	// views are the last reads, sorted by identity as Home.Identities
	// returns them: a refresh copies their rows in one pass, with no
	// lookup per identity.
	views   []dirView
	invalid []string
}

// NewLister returns a Lister whose first Refresh reads every state dir.
func (r *Runner) NewLister() *Lister {
	return &Lister{r: r}
}

// Refresh returns what Overview returns. With full set, on the first call,
// or when paths include the state root itself (the watch lost events), it
// reads every state dir as Overview does. Otherwise it re-reads only the
// identities whose state dir holds one of paths (absolute paths under the
// state root, anything else is ignored), adding and dropping identities
// whose dir appeared or went away, and reuses the last read of the rest:
// what the queue intake found there is reported once, when it is read.
func (l *Lister) Refresh(ctx context.Context, paths []string, full bool) ([]BottleStatus, []PendingRequest, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	names, all := changedNames(l.r.Home.StateRoot(), paths)
	if full || all || !l.loaded {
		return l.readAll(ctx)
	}
	names = l.withSynced(names)
	var reread []string
	for _, name := range names {
		fi, err := os.Lstat(filepath.Join(l.r.Home.StateRoot(), name))
		if err == nil && fi.IsDir() && state.ValidateIdentity(name) == nil {
			reread = append(reread, name) // its view is replaced in place
			continue
		}
		l.forget(name)
		if !errors.Is(err, fs.ErrNotExist) {
			l.invalid = insertSorted(l.invalid, name)
		}
	}
	lists := newEngineLists(ctx, l.r)
	fresh := make([]dirView, len(reread))
	if err := forEach(ctx, len(reread), func(i int) { fresh[i] = l.r.readDir(ctx, reread[i], lists, true) }); err != nil {
		return nil, nil, err
	}
	l.r.report(fresh)
	for _, v := range fresh {
		if i, ok := l.find(v.row.Identity); ok {
			l.views[i] = v
		} else {
			l.views = slices.Insert(l.views, i, v)
		}
	}
	return l.assemble(lists)
}

// readAll reads every state dir afresh.
func (l *Lister) readAll(ctx context.Context) ([]BottleStatus, []PendingRequest, error) {
	ids, invalid, err := l.r.Home.Identities()
	if err != nil {
		return nil, nil, err
	}
	lists := newEngineLists(ctx, l.r)
	views := make([]dirView, len(ids))
	if err := forEach(ctx, len(ids), func(i int) { views[i] = l.r.readDir(ctx, ids[i], lists, true) }); err != nil {
		return nil, nil, err
	}
	l.r.report(views)
	l.views, l.invalid, l.loaded = views, invalid, true
	return l.assemble(lists)
}

// assemble returns the rows and requests of the kept views, with the
// engines' states filled in.
func (l *Lister) assemble(lists *engineLists) ([]BottleStatus, []PendingRequest, error) {
	rows, reqs := assemble(l.views, l.invalid)
	lists.fill(rows)
	return rows, reqs, nil
}

// withSynced adds to names the identities whose bottle holds its own copy
// of the queue: only reading them mirrors it.
func (l *Lister) withSynced(names []string) []string {
	syncs := map[string]bool{}
	added := false
	for i := range l.views {
		row := &l.views[i].row
		if row.State != "" {
			continue // preserved or unreadable: nothing runs to sync with
		}
		b, seen := syncs[row.Backend]
		if !seen {
			b = l.r.queueSyncerOf(row.Backend) != nil
			syncs[row.Backend] = b
		}
		if b {
			names, added = append(names, row.Identity), true
		}
	}
	if added {
		slices.Sort(names)
		names = slices.Compact(names)
	}
	return names
}

// find returns where the view of id is, or would be, in l.views.
func (l *Lister) find(id string) (int, bool) {
	return slices.BinarySearchFunc(l.views, id, func(v dirView, id string) int { return strings.Compare(v.row.Identity, id) })
}

// forget drops what is kept of name.
func (l *Lister) forget(name string) {
	if i, ok := l.find(name); ok {
		l.views = slices.Delete(l.views, i, i+1)
	}
	if i, ok := slices.BinarySearch(l.invalid, name); ok {
		l.invalid = slices.Delete(l.invalid, i, i+1)
	}
}

// changedNames maps paths under root to the names of the entries of root
// that hold them, sorted and once each; all reports that root itself
// changed (everything must be read again).
func changedNames(root string, paths []string) (names []string, all bool) {
	for _, p := range paths {
		rel, err := filepath.Rel(root, p)
		if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			continue
		}
		if rel == "." {
			return nil, true
		}
		name, _, _ := strings.Cut(rel, string(filepath.Separator))
		names = append(names, name)
	}
	slices.Sort(names)
	return slices.Compact(names), false
}

// insertSorted adds s to the sorted list, once.
func insertSorted(list []string, s string) []string {
	i, found := slices.BinarySearch(list, s)
	if found {
		return list
	}
	return slices.Insert(list, i, s)
}
