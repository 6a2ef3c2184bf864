package changes

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/bottle-dev/bottle/runner/internal/tarwalk"
)

// Type is the kind of a tree entry.
type Type string

// Entry types.
const (
	File    Type = "file"
	Dir     Type = "dir"
	Symlink Type = "symlink"
)

// Entry is one object of a workspace tree.
type Entry struct {
	Path string `json:"path"` // slash-separated, relative to the workspace
	Type Type   `json:"type"`
	Mode uint32 `json:"mode"` // permission bits
	Size int64  `json:"size,omitempty"`
	Sum  string `json:"sum,omitempty"`  // hex SHA-256 of a file's content
	Link string `json:"link,omitempty"` // a symlink's target
}

// GitMode is the mode git records for the entry: a symlink, an executable
// or a plain file (git keeps nothing else of a file's permissions).
func (e *Entry) GitMode() string {
	switch {
	case e.Type == Symlink:
		return "120000"
	case e.Mode&0o111 != 0:
		return "100755"
	default:
		return "100644"
	}
}

// Git is where a workspace came from when its folder is in a git work tree.
type Git struct {
	// Top is the work tree's top folder (git rev-parse --show-toplevel).
	Top string `json:"top"`
	// Prefix is the copied folder relative to Top ("" or "sub/dir/").
	Prefix string `json:"prefix,omitempty"`
	// Commit is HEAD when the bottle was launched; "" on an unborn branch.
	Commit string `json:"commit,omitempty"`
}

// manifestVersion is written into every manifest; Load refuses newer ones.
const manifestVersion = 1

// Manifest is the tree a bottle was launched with: what was copied in.
type Manifest struct {
	FormatVersion int `json:"format_version"`
	// Dir is the host folder that was copied.
	Dir string `json:"dir"`
	// Git is set when Dir is in a git work tree.
	Git *Git `json:"git,omitempty"`
	// Target is the folder inside the bottle the tree was copied to.
	Target string `json:"target,omitempty"`
	// Keep is how the session's end exports the changes ("branch",
	// "patch", "none"), resolved at launch.
	Keep string `json:"keep,omitempty"`
	// Entries are sorted by Path.
	Entries []Entry `json:"entries"`

	index map[string]int
}

// Lookup returns the entry at p, or nil.
func (m *Manifest) Lookup(p string) *Entry {
	if m.index == nil {
		m.index = make(map[string]int, len(m.Entries))
		for i := range m.Entries {
			m.index[m.Entries[i].Path] = i
		}
	}
	if i, ok := m.index[p]; ok {
		return &m.Entries[i]
	}
	return nil
}

// Encode writes m as JSON.
func (m *Manifest) Encode() ([]byte, error) {
	m.FormatVersion = manifestVersion
	return json.Marshal(m)
}

// LoadManifest reads a manifest written by Encode.
func LoadManifest(path string) (*Manifest, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read the launch tree: %w", err)
	}
	var m Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("read the launch tree %s: %w", path, err)
	}
	if m.FormatVersion > manifestVersion {
		return nil, fmt.Errorf("the launch tree %s has format %d; this bottle reads up to %d: upgrade bottle",
			path, m.FormatVersion, manifestVersion)
	}
	return &m, nil
}

// Limits bound what reading one tree stream may cost the host.
type Limits struct {
	// MaxEntries caps the entries of the stream.
	MaxEntries int
	// MaxBytes caps the file contents of the stream.
	MaxBytes int64
	// MaxKept caps the changed contents kept on the host.
	MaxKept int64
}

// DefaultLimits match the state dir's snapshot limits.
var DefaultLimits = Limits{MaxEntries: 2_000_000, MaxBytes: 8 << 30, MaxKept: 2 << 30}

// ErrTooLarge means a tree stream went over its Limits.
var ErrTooLarge = errors.New("workspace too large")

// maxName bounds one entry's name, far above any real path.
const maxName = 4096

// CleanName validates a name from a tar stream: a relative, clean,
// slash-separated path of valid UTF-8 without control characters. It
// returns "" for the root and an error for anything else that is not a
// plain path (absolute, "..", empty components).
func CleanName(name string) (string, error) {
	n := strings.TrimPrefix(name, "./")
	n = strings.TrimSuffix(n, "/")
	if n == "" || n == "." {
		return "", nil
	}
	switch {
	case len(n) > maxName:
		return "", fmt.Errorf("entry name longer than %d bytes", maxName)
	case !utf8.ValidString(n):
		return "", fmt.Errorf("entry name %q is not UTF-8", n)
	case strings.ContainsFunc(n, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return "", fmt.Errorf("entry name %q has control characters", n)
	case path.IsAbs(n) || path.Clean(n) != n || n == ".." || strings.HasPrefix(n, "../"):
		return "", fmt.Errorf("entry name %q is not a clean relative path", n)
	}
	return n, nil
}

// Scan reads a tar stream of a tree (buildctx.Tar's, or a bottle's) into a
// manifest of its entries, hashing file contents.
func Scan(ctx context.Context, r io.Reader, lim Limits) (*Manifest, error) {
	m := &Manifest{}
	files := map[string]Entry{}
	err := walkTar(ctx, r, lim, func(e Entry, _ *tar.Header, body io.Reader) error {
		switch {
		case e.Type == "":
			return nil // not something a workspace keeps
		case e.Type == File && body == nil:
			t, ok := files[e.Link]
			if !ok {
				return fmt.Errorf("hard link %q to %q, which is not an earlier file", e.Path, e.Link)
			}
			e.Size, e.Sum, e.Link = t.Size, t.Sum, ""
		case e.Type == File:
			h := sha256.New()
			if _, err := io.Copy(h, body); err != nil {
				return fmt.Errorf("read %s: %w", e.Path, err)
			}
			e.Sum = hex.EncodeToString(h.Sum(nil))
			files[e.Path] = e
		}
		m.Entries = append(m.Entries, e)
		return nil
	})
	if err != nil {
		return nil, err
	}
	m.Entries = sortEntries(m.Entries)
	return m, nil
}

// errSkip, returned by a walkTar visitor, is not an error.
var errSkip = errors.New("skip")

// walkTar calls fn for each directory, regular file and symlink of the
// stream, with validated names and the Limits enforced; fn reads a file's
// content from body. A hard link is passed as the file it links to, with
// the header's Linkname naming that file and a nil body. Other entry types
// (devices, fifos) are passed with Type "" so that the caller can report
// them.
func walkTar(ctx context.Context, r io.Reader, lim Limits, fn func(Entry, *tar.Header, io.Reader) error) error {
	tr := tar.NewReader(r)
	for h, err := range tarwalk.Headers(ctx, tr, tarwalk.Limits{MaxBytes: lim.MaxBytes, MaxEntries: lim.MaxEntries}, ErrTooLarge) {
		if err != nil {
			return err
		}
		name, err := CleanName(h.Name)
		if err != nil {
			return err
		}
		if name == "" {
			continue
		}
		e := Entry{Path: name, Mode: uint32(fs.FileMode(h.Mode).Perm())}
		var body io.Reader
		switch h.Typeflag {
		case tar.TypeDir:
			e.Type = Dir
		case tar.TypeReg:
			e.Type, e.Size, body = File, h.Size, io.LimitReader(tr, h.Size)
		case tar.TypeSymlink:
			if len(h.Linkname) > maxName {
				return fmt.Errorf("symlink %q: target longer than %d bytes", name, maxName)
			}
			e.Type, e.Link = Symlink, h.Linkname
		case tar.TypeLink:
			target, err := CleanName(h.Linkname)
			if err != nil || target == "" {
				return fmt.Errorf("hard link %q: bad target %q", name, h.Linkname)
			}
			e.Type, e.Link = File, target
		}
		if err := fn(e, h, body); err != nil && !errors.Is(err, errSkip) {
			return err
		}
	}
	return nil
}

// sortEntries sorts entries by path; of two entries with one path (a stream
// may repeat a name) the later one stays, as extracting the stream would.
func sortEntries(es []Entry) []Entry {
	sort.SliceStable(es, func(i, j int) bool { return es[i].Path < es[j].Path })
	out := es[:0]
	for i, e := range es {
		if i+1 < len(es) && es[i+1].Path == e.Path {
			continue
		}
		out = append(out, e)
	}
	return out
}
