package kubernetes

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
)

// limits bound what a bottle can write back to the host through a mount.
type limits struct {
	files int   // entries
	bytes int64 // total file contents
	file  int64 // one file's contents
}

// defaultLimits suit the queue (small JSON requests) and other small
// read-write mounts; larger trees move with CopyOut, which the caller
// bounds.
var defaultLimits = limits{files: 10000, bytes: 256 << 20, file: 64 << 20}

// extractInto writes the regular files and directories of the tar stream r
// under dir. The stream comes from the bottle, so it is hostile: names are
// cleaned and confined to dir by os.Root (no "..", no absolute paths, no
// following of symlinks out of dir), links, devices and other types are
// skipped, modes are reduced to permission bits without setuid, and sizes
// and counts are capped. A file is written to a temporary name and renamed,
// so a reader of dir never sees half a file.
func extractInto(dir string, r io.Reader, lim limits) error {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return fmt.Errorf("open %s: %w", dir, err)
	}
	defer root.Close()
	tr := tar.NewReader(r)
	var files int
	var total int64
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read the bottle's tar: %w", err)
		}
		name, ok := cleanName(hdr.Name)
		if !ok {
			continue
		}
		if files++; files > lim.files {
			return fmt.Errorf("more than %d entries", lim.files)
		}
		perm := fs.FileMode(hdr.Mode) & 0o777
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := root.MkdirAll(name, perm|0o700); err != nil {
				return fmt.Errorf("mkdir %s: %w", name, err)
			}
		case tar.TypeReg:
			if hdr.Size > lim.file {
				return fmt.Errorf("%s: %d bytes, over the limit of %d", name, hdr.Size, lim.file)
			}
			if total += hdr.Size; total > lim.bytes {
				return fmt.Errorf("more than %d bytes in all", lim.bytes)
			}
			if err := writeFile(root, name, perm, io.LimitReader(tr, hdr.Size)); err != nil {
				return fmt.Errorf("entry %s: %w", name, err)
			}
		}
	}
}

// cleanName turns a tar entry name into a clean relative path; ok is false
// for the root itself and for names that leave it.
func cleanName(n string) (string, bool) {
	n = path.Clean("/" + strings.TrimPrefix(n, "./"))
	if n == "/" {
		return "", false
	}
	return n[1:], true
}

func writeFile(root *os.Root, name string, perm fs.FileMode, r io.Reader) error {
	if dir := path.Dir(name); dir != "." {
		if err := root.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("mkdir %s: %w", dir, err)
		}
	}
	tmp := path.Join(path.Dir(name), ".bottle-sync-"+path.Base(name))
	f, err := root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|os.O_EXCL, perm|0o600)
	if err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	_, err = io.Copy(f, r)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = root.Rename(tmp, name)
	}
	if err != nil {
		_ = root.Remove(tmp)
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
}
