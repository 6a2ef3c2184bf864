package changes

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"io"
	"strings"

	"github.com/rogpeppe/go-internal/diff"
)

// PatchOptions shape a patch.
type PatchOptions struct {
	// Prefix goes before every path ("sub/dir/" for a folder below the
	// top of a git work tree), so that the patch applies at Prefix's root.
	Prefix string
	// Binary writes binary files as git's binary literals (what git apply
	// needs); otherwise they are one "Binary files ... differ" line.
	Binary bool
	// Paths, when set, limits the patch to these paths and what is below.
	Paths []string
}

// maxTextDiff is the size above which a file is diffed as binary: the
// unified diff of a huge file is of no use to a reader.
const maxTextDiff = 8 << 20

// WritePatch writes the set as a git-style patch (git apply, patch -p1).
// Old contents come from base (BaseContent), new ones from the Store.
func (s *Set) WritePatch(ctx context.Context, w io.Writer, base *Manifest, opts PatchOptions) error {
	for i := range s.Changes {
		c := &s.Changes[i]
		if !selected(c.Path, opts.Paths) {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if c.Old != nil && c.New != nil && c.Old.Type != c.New.Type {
			// git writes a type change as a deletion and an addition.
			del, add := *c, *c
			del.Kind, del.New, del.Blob = Deleted, nil, ""
			add.Kind, add.Old = Added, nil
			if err := s.writeOne(ctx, w, base, &del, opts); err != nil {
				return err
			}
			c = &add
		}
		if err := s.writeOne(ctx, w, base, c, opts); err != nil {
			return err
		}
	}
	return nil
}

func (s *Set) writeOne(ctx context.Context, w io.Writer, base *Manifest, c *Change, opts PatchOptions) error {
	var old, new []byte
	var err error
	if c.Old != nil {
		if old, err = base.BaseContent(ctx, c.Old); err != nil {
			return err
		}
	}
	if c.New != nil {
		if new, err = s.NewContent(c); err != nil {
			return err
		}
	}
	name := opts.Prefix + c.Path
	a, b := quote("a/"+name), quote("b/"+name)
	var h strings.Builder
	fmt.Fprintf(&h, "diff --git %s %s\n", a, b)
	switch {
	case c.Old == nil:
		fmt.Fprintf(&h, "new file mode %s\n", c.New.GitMode())
	case c.New == nil:
		fmt.Fprintf(&h, "deleted file mode %s\n", c.Old.GitMode())
	case c.Old.GitMode() != c.New.GitMode():
		fmt.Fprintf(&h, "old mode %s\nnew mode %s\n", c.Old.GitMode(), c.New.GitMode())
	}
	if c.Old != nil && c.New != nil && bytes.Equal(old, new) {
		_, err := io.WriteString(w, h.String())
		return err
	}
	oldID, newID := objectID(old, c.Old == nil), objectID(new, c.New == nil)
	mode := ""
	if c.Old != nil && c.New != nil && c.Old.GitMode() == c.New.GitMode() {
		mode = " " + c.New.GitMode()
	}
	binary := isBinary(old) || isBinary(new)
	if binary && opts.Binary {
		fmt.Fprintf(&h, "index %s..%s%s\nGIT binary patch\n", oldID, newID, mode)
		h.WriteString(literal(new))
		h.WriteString(literal(old))
		_, err := io.WriteString(w, h.String())
		return err
	}
	fmt.Fprintf(&h, "index %s..%s%s\n", oldID[:7], newID[:7], mode)
	if binary {
		fmt.Fprintf(&h, "Binary files %s and %s differ\n", side(a, c.Old == nil), side(b, c.New == nil))
		_, err := io.WriteString(w, h.String())
		return err
	}
	if len(old) == 0 && len(new) == 0 {
		_, err := io.WriteString(w, h.String()) // an empty file added or deleted
		return err
	}
	fmt.Fprintf(&h, "--- %s\n+++ %s\n", side(a, c.Old == nil), side(b, c.New == nil))
	if _, err := io.WriteString(w, h.String()); err != nil {
		return err
	}
	_, err = w.Write(hunks(old, new))
	return err
}

// hunks is the unified diff's hunks, without go-internal/diff's own
// three header lines (git's headers are written instead).
func hunks(old, new []byte) []byte {
	d := diff.Diff("a", old, "b", new)
	for range 3 {
		if i := bytes.IndexByte(d, '\n'); i >= 0 {
			d = d[i+1:]
		}
	}
	return d
}

// NewContent returns a change's new content: a file's bytes or a symlink's
// target.
func (s *Set) NewContent(c *Change) ([]byte, error) {
	if c.New.Type == Symlink {
		return []byte(c.New.Link), nil
	}
	if c.Blob == "" {
		return nil, fmt.Errorf("%s: its content was not kept", c.Path)
	}
	if c.New.Size > maxBaseRead {
		return nil, fmt.Errorf("%s is larger than %d bytes", c.Path, maxBaseRead)
	}
	return s.Store.ReadAll(c.Blob)
}

func side(name string, missing bool) string {
	if missing {
		return "/dev/null"
	}
	return name
}

// isBinary is git's test: a NUL byte in the first 8000 bytes, plus size.
func isBinary(b []byte) bool {
	return len(b) > maxTextDiff || bytes.IndexByte(b[:min(len(b), 8000)], 0) >= 0
}

// objectID is git's blob id of b (all zeros for a missing side).
func objectID(b []byte, missing bool) string {
	if missing {
		return strings.Repeat("0", 40)
	}
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", len(b))
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil))
}

// quote writes a path the way git does when it holds a quote, a backslash
// or a byte outside ASCII: in double quotes with C escapes.
func quote(p string) string {
	if !strings.ContainsAny(p, "\"\\") && !hasHigh(p) {
		return p
	}
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(p); i++ {
		switch c := p[i]; {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c >= 0x80:
			fmt.Fprintf(&b, "\\%03o", c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func hasHigh(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return true
		}
	}
	return false
}

// selected reports whether p is one of paths or below one; no paths
// selects everything.
func selected(p string, paths []string) bool {
	if len(paths) == 0 {
		return true
	}
	for _, q := range paths {
		q = strings.Trim(q, "/")
		if q == "" || q == "." || p == q || strings.HasPrefix(p, q+"/") {
			return true
		}
	}
	return false
}
