package changes

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"sort"
	"strings"
)

// Kind is what happened to a path.
type Kind string

// Kinds of change.
const (
	Added    Kind = "added"
	Modified Kind = "modified"
	Deleted  Kind = "deleted"
)

// Change is one path the agent changed. Directories are not changes of
// their own (git keeps none): their files are.
type Change struct {
	Path string `json:"path"`
	Kind Kind   `json:"change"`
	// Old is the entry at launch (nil when added); New the entry now (nil
	// when deleted).
	Old *Entry `json:"old,omitempty"`
	New *Entry `json:"new,omitempty"`
	// Blob names New's content in the set's Store (files only).
	Blob string `json:"-"`
}

// ContentChanged reports whether the bytes (or the link target) differ;
// false means only the mode changed.
func (c *Change) ContentChanged() bool {
	if c.Old == nil || c.New == nil || c.Old.Type != c.New.Type {
		return true
	}
	return c.Old.Sum != c.New.Sum || c.Old.Link != c.New.Link
}

// Set is the difference between a launch tree and a workspace.
type Set struct {
	// Changes are the workspace's changes, sorted by path, outside any
	// .git folder.
	Changes []Change
	// Git are the changes under a .git folder of the workspace: shown
	// apart, never exported (a bottle's hooks and config are hostile).
	Git []Change
	// Skipped are entries neither file, folder nor symlink (devices,
	// fifos): never taken out.
	Skipped []string
	// Store holds the new contents.
	Store *Store
}

// Empty reports whether the workspace has no change outside .git.
func (s *Set) Empty() bool { return len(s.Changes) == 0 }

// inMemory is the size up to which a file the same size as at launch is
// read into memory to be compared, rather than kept in the Store first.
const inMemory = 1 << 20

// Compare reads the workspace as a tar stream r (hostile: from a bottle)
// and returns its changes against base. New contents are kept in store.
func Compare(ctx context.Context, base *Manifest, r io.Reader, store *Store, lim Limits) (*Set, error) {
	return compare(ctx, base, r, store, lim, nil)
}

// Partial says which paths a partial stream covers: everything else is as
// at launch.
type Partial struct {
	// Deleted paths are gone, with what was below them.
	Deleted []string
	// Touched paths are in the stream unless they are gone.
	Touched []string
}

// ComparePartial is Compare for a stream of only the paths p names (what
// an engine reports changed since launch): every other entry of base is
// taken as unchanged.
func ComparePartial(ctx context.Context, base *Manifest, r io.Reader, p Partial, store *Store, lim Limits) (*Set, error) {
	return compare(ctx, base, r, store, lim, &p)
}

func compare(ctx context.Context, base *Manifest, r io.Reader, store *Store, lim Limits, partial *Partial) (*Set, error) {
	now := map[string]Entry{}
	blobs := map[string]string{}
	set := &Set{Store: store}
	buf := make([]byte, 0, inMemory)
	err := walkTar(ctx, r, lim, func(e Entry, h *tar.Header, body io.Reader) error {
		switch {
		case e.Type == "":
			set.Skipped = append(set.Skipped, e.Path)
			return nil
		case e.Type == File && body == nil:
			t, ok := now[e.Link]
			if !ok || t.Type != File {
				return fmt.Errorf("hard link %q to %q, which is not an earlier file", e.Path, e.Link)
			}
			e.Size, e.Sum, e.Link = t.Size, t.Sum, ""
			if b, ok := blobs[t.Path]; ok {
				blobs[e.Path] = b
			} else if err := keepCopyOfBase(base, t.Path, e.Path, blobs); err != nil {
				return err
			}
		case e.Type == File:
			sum, blob, err := readFile(store, base.Lookup(e.Path), e, body, &buf)
			if err != nil {
				return err
			}
			e.Sum = sum
			if blob != "" {
				blobs[e.Path] = blob
			}
		}
		delete(now, e.Path) // a repeated name: the later entry wins
		now[e.Path] = e
		return nil
	})
	if err != nil {
		return nil, err
	}
	if partial != nil {
		fillUnchanged(base, now, partial)
	}
	for i := range base.Entries {
		old := &base.Entries[i]
		if _, ok := now[old.Path]; !ok && old.Type != Dir {
			set.add(Change{Path: old.Path, Kind: Deleted, Old: old})
		}
	}
	for p, e := range now {
		e := e
		old := base.Lookup(p)
		switch {
		case e.Type == Dir && (old == nil || old.Type == Dir):
			continue
		case e.Type == Dir:
			set.add(Change{Path: p, Kind: Deleted, Old: old})
		case old == nil || old.Type == Dir:
			set.add(Change{Path: p, Kind: Added, New: &e, Blob: blobs[p]})
		case old.Type != e.Type || old.Sum != e.Sum || old.Link != e.Link || old.GitMode() != e.GitMode():
			set.add(Change{Path: p, Kind: Modified, Old: old, New: &e, Blob: blobs[p]})
		}
	}
	for _, cs := range [][]Change{set.Changes, set.Git} {
		sort.Slice(cs, func(i, j int) bool { return cs[i].Path < cs[j].Path })
	}
	sort.Strings(set.Skipped)
	return set, nil
}

// keepCopyOfBase handles a hard link to a file the agent left unchanged:
// its content is not in the Store, so the link is only supported when it
// changes nothing, which is checked by the caller comparing sums. The
// content of a changed path must come from somewhere, hence the error.
func keepCopyOfBase(base *Manifest, target, p string, blobs map[string]string) error {
	if old := base.Lookup(p); old != nil && old.Type == File {
		if t := base.Lookup(target); t != nil && t.Sum == old.Sum {
			return nil // the same content as at launch
		}
	}
	return fmt.Errorf("%s is a hard link to the unchanged %s: replace the link by a copy (cp --remove-destination) and export again", p, target)
}

// readFile hashes one file of the stream and keeps its content in store
// unless it is the same as at launch (then blob is "").
func readFile(store *Store, old *Entry, e Entry, body io.Reader, buf *[]byte) (sum, blob string, err error) {
	h := sha256.New()
	same := old != nil && old.Type == File && old.Size == e.Size
	if same && e.Size <= inMemory {
		b := bytes.NewBuffer((*buf)[:0])
		if _, err := io.Copy(io.MultiWriter(h, b), body); err != nil {
			return "", "", fmt.Errorf("read %s: %w", e.Path, err)
		}
		*buf = b.Bytes()
		sum = hex.EncodeToString(h.Sum(nil))
		if sum == old.Sum && old.GitMode() == e.GitMode() {
			return sum, "", nil
		}
		blob, err = store.Put(bytes.NewReader(*buf), e.Size)
		return sum, blob, err
	}
	blob, err = store.Put(io.TeeReader(body, h), e.Size)
	if err != nil {
		return "", "", fmt.Errorf("read %s: %w", e.Path, err)
	}
	sum = hex.EncodeToString(h.Sum(nil))
	if same && sum == old.Sum && old.GitMode() == e.GitMode() {
		return sum, "", store.Remove(blob, e.Size)
	}
	return sum, blob, nil
}

func (s *Set) add(c Change) {
	if inGitDir(c.Path) {
		s.Git = append(s.Git, c)
		return
	}
	s.Changes = append(s.Changes, c)
}

// inGitDir reports whether p is a .git folder or inside one, at any depth
// (a nested repository's too): git itself refuses such paths.
func inGitDir(p string) bool {
	for _, c := range strings.Split(p, "/") {
		if strings.EqualFold(c, ".git") {
			return true
		}
	}
	return false
}

// fillUnchanged completes the entries of a partial stream with those of
// base it does not cover: those neither deleted nor touched, nor below a
// deleted or touched path.
func fillUnchanged(base *Manifest, now map[string]Entry, p *Partial) {
	gone := map[string]bool{}
	for _, d := range p.Deleted {
		gone[d] = true
	}
	// A touched path came whole (a folder with all it holds): what of it
	// is not in the stream is gone.
	for _, t := range p.Touched {
		gone[t] = true
	}
	under := func(path string) bool {
		for q := path; ; {
			if gone[q] {
				return true
			}
			i := strings.LastIndexByte(q, '/')
			if i < 0 {
				return false
			}
			q = q[:i]
		}
	}
	for _, e := range base.Entries {
		if _, ok := now[e.Path]; ok || under(e.Path) {
			continue
		}
		now[e.Path] = e
	}
}
