package state

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"

	"github.com/bottle-dev/bottle/runner/internal/tarwalk"
)

// Limits bound what one snapshot may put on the host.
type Limits struct {
	MaxBytes   int64
	MaxEntries int
}

// DefaultLimits are generous for a transcript or a workspace, and still stop
// a hostile agent from filling the host's disk through a snapshot: 8 GiB of
// file contents and 2,000,000 entries per snapshot (the README's Security
// section states them).
var DefaultLimits = Limits{MaxBytes: 8 << 30, MaxEntries: 2_000_000}

// ErrSnapshotTooLarge means a snapshot went over its Limits.
var ErrSnapshotTooLarge = errors.New("snapshot too large")

// ExtractSnapshot replaces the folder name (TranscriptDir or WorkspaceDir) of
// the state dir with the contents of the tar stream r. The stream comes out
// of a bottle, so it is hostile: everything is written through an os.Root
// opened on the new folder (no name, link or "..", can reach outside it), only
// directories, regular files, symbolic links and hard links to regular files
// the same stream extracted earlier are kept, permission bits are masked, and
// the Limits are enforced. The old folder is replaced only once
// the whole stream was extracted.
func (d *Dir) ExtractSnapshot(ctx context.Context, name string, r io.Reader, lim Limits) error {
	if name != TranscriptDir && name != WorkspaceDir {
		return fmt.Errorf("unknown snapshot %q", name)
	}
	tmp := d.Join("." + name + ".new")
	if err := os.RemoveAll(tmp); err != nil {
		return fmt.Errorf("snapshot %s: %w", name, err)
	}
	if err := os.Mkdir(tmp, 0o700); err != nil {
		return fmt.Errorf("snapshot %s: %w", name, err)
	}
	if err := extract(ctx, tmp, r, lim); err != nil {
		_ = os.RemoveAll(tmp)
		if errors.Is(err, ErrSnapshotTooLarge) {
			return fmt.Errorf("snapshot %s of %s: %w; the bottle's %s folder is over the cap on what one snapshot may put on the host: make it smaller inside the bottle, or deny the request", name, d.Identity, err, name)
		}
		return fmt.Errorf("snapshot %s of %s: %w", name, d.Identity, err)
	}
	dst := d.Join(name)
	old := d.Join("." + name + ".old")
	_ = os.RemoveAll(old)
	if err := os.Rename(dst, old); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("snapshot %s: %w", name, err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		return fmt.Errorf("snapshot %s: %w", name, err)
	}
	if err := os.RemoveAll(old); err != nil {
		return fmt.Errorf("snapshot %s: %w", name, err)
	}
	return syncDir(d.Path)
}

// HasSnapshot reports whether a snapshot folder exists (as a real folder).
func (d *Dir) HasSnapshot(name string) bool {
	fi, err := os.Lstat(d.Join(name))
	return err == nil && fi.IsDir()
}

func extract(ctx context.Context, dir string, r io.Reader, lim Limits) error {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	tr := tar.NewReader(r)
	// files are the regular files this stream wrote: the only targets a
	// hard link may have, so none can reach a file outside the snapshot
	// or one the stream never gave.
	files := map[string]bool{}
	for h, err := range tarwalk.Headers(ctx, tr, tarwalk.Limits{MaxBytes: lim.MaxBytes, MaxEntries: lim.MaxEntries}, ErrSnapshotTooLarge) {
		if err != nil {
			return err
		}
		name := cleanEntry(h.Name)
		if name == "" {
			continue // the root itself, or a name that escapes: skip it
		}
		mode := fs.FileMode(h.Mode).Perm()
		switch h.Typeflag {
		case tar.TypeDir:
			if err := root.MkdirAll(name, 0o700); err != nil {
				return fmt.Errorf("create %s: %w", name, err)
			}
			if err := root.Chmod(name, mode|0o700); err != nil {
				return fmt.Errorf("chmod %s: %w", name, err)
			}
			delete(files, name)
		case tar.TypeReg:
			if err := writeEntry(root, name, mode, tr, h.Size); err != nil {
				return err
			}
			files[name] = true
			_ = root.Chtimes(name, h.ModTime, h.ModTime)
		case tar.TypeSymlink:
			if err := mkParent(root, name); err != nil {
				return err
			}
			_ = root.Remove(name)
			if err := root.Symlink(h.Linkname, name); err != nil {
				return fmt.Errorf("link %s: %w", name, err)
			}
			delete(files, name)
		case tar.TypeLink:
			if err := hardLink(root, name, cleanEntry(h.Linkname), files); err != nil {
				return err
			}
		default:
			// Devices, fifos: nothing a transcript or a workspace
			// needs, and each is a way to reach the host.
		}
	}
	return nil
}

// hardLink makes name another link to target, a regular file this stream
// extracted (files) that is still one; any other link is skipped, like the
// entry types a snapshot does not keep.
func hardLink(root *os.Root, name, target string, files map[string]bool) error {
	if target == "" || target == name || !files[target] {
		return nil
	}
	if fi, err := root.Lstat(target); err != nil || !fi.Mode().IsRegular() {
		return nil
	}
	if err := mkParent(root, name); err != nil {
		return err
	}
	_ = root.Remove(name)
	if err := root.Link(target, name); err != nil {
		return fmt.Errorf("link %s: %w", name, err)
	}
	files[name] = true
	return nil
}

func writeEntry(root *os.Root, name string, mode fs.FileMode, r io.Reader, size int64) error {
	if err := mkParent(root, name); err != nil {
		return err
	}
	// Remove first so that an earlier entry's link at this name is replaced
	// rather than written through.
	_ = root.Remove(name)
	f, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode|0o600)
	if err != nil {
		return fmt.Errorf("create %s: %w", name, err)
	}
	_, werr := io.CopyN(f, r, size)
	cerr := f.Close()
	if err := errors.Join(werr, cerr); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
}

func mkParent(root *os.Root, name string) error {
	if dir := path.Dir(name); dir != "." {
		if err := root.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("create %s: %w", dir, err)
		}
	}
	return nil
}

// cleanEntry turns a tar name into a clean relative path, or "" for the root
// and for anything that would leave it.
func cleanEntry(name string) string {
	name = path.Clean(strings.TrimLeft(strings.ReplaceAll(name, "\\", "/"), "/"))
	if name == "." || name == ".." || strings.HasPrefix(name, "../") {
		return ""
	}
	return name
}
