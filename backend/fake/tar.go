package fake

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"
	"syscall"

	"github.com/bottle-dev/bottle/backend"
)

// makeDst creates the directory dst of a copy and its missing parents:
// owned by owner when set, else like their nearest existing ancestor. With
// an owner, dst itself becomes its even when it exists, as with an engine.
func (v *vfs) makeDst(dst string, owner *backend.Owner) error {
	if owner == nil {
		return v.mkdirAll(dst, 0o755, true)
	}
	o := &[2]int{owner.UID, owner.GID}
	cur := "/"
	for _, name := range splitPath(dst) {
		cur = path.Join(cur, name)
		fi, err := v.stat(cur, true)
		switch {
		case err == nil && !fi.Mode.IsDir():
			return pathErr("mkdir", cur, syscall.ENOTDIR)
		case err == nil && cur == dst:
			return v.mkdir(cur, fi.Mode.Perm(), o) // an existing dir takes the owner
		case err == nil:
			continue
		}
		if err := v.mkdir(cur, 0o755, o); err != nil && !errors.Is(err, fs.ErrExist) {
			return err
		}
	}
	return nil
}

// extract unpacks the tar stream r at the directory dst, creating dst and
// missing parents owned by owner, or with a nil owner like their nearest
// existing ancestor. Entries keep their mode, owner and mtime, as an
// engine's copy endpoint does.
func (v *vfs) extract(dst string, r io.Reader, owner *backend.Owner) error {
	dst = path.Clean(dst)
	if err := v.makeDst(dst, owner); err != nil {
		return err
	}
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read tar: %w", err)
		}
		name := path.Clean(strings.TrimPrefix(hdr.Name, "/"))
		if name == "." {
			continue
		}
		if name == ".." || strings.HasPrefix(name, "../") {
			return fmt.Errorf("tar entry %q leaves %s", hdr.Name, dst)
		}
		target := path.Join(dst, name)
		owner := &[2]int{hdr.Uid, hdr.Gid}
		perm := fs.FileMode(hdr.Mode) & (fs.ModePerm)
		if err := v.mkdirAll(path.Dir(target), 0o755, true); err != nil {
			return err
		}
		switch hdr.Typeflag {
		case tar.TypeDir:
			err = v.mkdir(target, perm, owner)
		case tar.TypeReg:
			var data []byte
			if data, err = io.ReadAll(tr); err == nil {
				err = v.write(target, data, writeOpts{perm: perm, noFollow: true, owner: owner, mtime: hdr.ModTime})
			}
		case tar.TypeSymlink:
			if fi, serr := v.stat(target, false); serr == nil && !fi.Mode.IsDir() {
				_ = v.remove(target, false)
			}
			err = v.symlink(hdr.Linkname, target, owner)
		case tar.TypeLink:
			var data []byte
			if data, err = v.readFile(path.Join(dst, path.Clean(hdr.Linkname))); err == nil {
				err = v.write(target, data, writeOpts{perm: perm, noFollow: true, owner: owner, mtime: hdr.ModTime})
			}
		default:
			continue // devices, FIFOs: nothing an agent's files need
		}
		if err != nil {
			return err
		}
	}
}

// archive writes a tar stream of the contents of the directory src, with
// names relative to src and no entry for src itself.
func (v *vfs) archive(src string, w io.Writer) error {
	fi, err := v.stat(src, true)
	if err != nil {
		return err
	}
	if !fi.Mode.IsDir() {
		return fmt.Errorf("%s is not a directory", src)
	}
	tw := tar.NewWriter(w)
	if err := v.archiveDir(tw, path.Clean(src), ""); err != nil {
		return err
	}
	return tw.Close()
}

func (v *vfs) archiveDir(tw *tar.Writer, dir, rel string) error {
	entries, err := v.readDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		full, name := path.Join(dir, e.Path), path.Join(rel, e.Path)
		fi, err := v.stat(full, false)
		if errors.Is(err, fs.ErrNotExist) {
			continue // removed while archiving
		}
		if err != nil {
			return err
		}
		hdr := &tar.Header{Name: name, Mode: int64(fi.Mode.Perm()), Uid: fi.UID, Gid: fi.GID, ModTime: fi.ModTime}
		var data []byte
		switch {
		case fi.Mode.IsDir():
			hdr.Typeflag, hdr.Name = tar.TypeDir, name+"/"
		case fi.Mode&fs.ModeSymlink != 0:
			hdr.Typeflag, hdr.Linkname = tar.TypeSymlink, fi.Link
		case fi.Mode.IsRegular():
			if data, err = v.readFile(full); err != nil {
				return err
			}
			hdr.Typeflag, hdr.Size = tar.TypeReg, int64(len(data))
		default:
			continue
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if _, err := tw.Write(data); err != nil {
			return err
		}
		if fi.Mode.IsDir() {
			if err := v.archiveDir(tw, full, name); err != nil {
				return err
			}
		}
	}
	return nil
}

// walk lists every entry below root (not root itself), parents first.
func (v *vfs) walk(root string) ([]File, error) {
	entries, err := v.readDir(root)
	if err != nil {
		return nil, err
	}
	var out []File
	for _, e := range entries {
		full := path.Join(root, e.Path)
		fi, err := v.stat(full, false)
		if err != nil {
			continue
		}
		out = append(out, fi)
		if fi.Mode.IsDir() {
			below, err := v.walk(full)
			if err != nil {
				return nil, err
			}
			out = append(out, below...)
		}
	}
	return out, nil
}
