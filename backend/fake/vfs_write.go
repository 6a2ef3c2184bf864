package fake

import (
	"errors"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"syscall"
	"time"
)

// writeOpts says how write puts a file.
type writeOpts struct {
	perm   fs.FileMode
	append bool
	// noFollow replaces a symlink at the path instead of writing through
	// it, as tar extraction does.
	noFollow bool
	// owner, when set, is the file's uid:gid; otherwise a new file gets the
	// file system's and an existing one keeps its own.
	owner *[2]int
	mtime time.Time
}

func (v *vfs) writable(l loc) error {
	switch {
	case v.gone:
		return pathErr("write", l.guest, errGone)
	case l.ro:
		return pathErr("write", l.guest, syscall.EROFS)
	}
	return nil
}

// write creates or replaces (or appends to) the regular file p.
func (v *vfs) write(p string, data []byte, o writeOpts) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	l, err := v.resolve(p, !o.noFollow)
	if err != nil {
		return err
	}
	if err := v.writable(l); err != nil {
		return err
	}
	if l.onHost() {
		return writeHost(l, data, o)
	}
	if err := v.parentDir(l.mem, p); err != nil {
		return err
	}
	n := v.nodes[l.mem]
	switch {
	case n != nil && n.mode.IsDir():
		return pathErr("open", p, syscall.EISDIR)
	case n == nil || !n.mode.IsRegular():
		n = &node{mode: o.perm.Perm(), uid: v.uid, gid: v.gid}
		v.nodes[l.mem] = n
	case o.owner != nil:
		n.mode = o.perm.Perm() // extraction sets the entry's mode; a shell keeps it
	}
	if o.append {
		n.data = append(slices.Clip(n.data), data...)
	} else {
		n.data = slices.Clone(data)
	}
	if o.owner != nil {
		n.uid, n.gid = o.owner[0], o.owner[1]
	}
	n.mtime = o.mtime
	if n.mtime.IsZero() {
		n.mtime = time.Now()
	}
	return nil
}

// writeHost writes a file through a mount. A whole file is written to a
// dot-named temp file and renamed into place, so a host reader (the
// runner's queue scan) never sees half of it.
func writeHost(l loc, data []byte, o writeOpts) error {
	if o.append {
		f, err := os.OpenFile(l.host, os.O_WRONLY|os.O_APPEND|os.O_CREATE, o.perm.Perm())
		if err != nil {
			return pathErr("open", l.guest, underlying(err))
		}
		_, werr := f.Write(data)
		if err := errors.Join(werr, f.Close()); err != nil {
			return pathErr("write", l.guest, underlying(err))
		}
		return nil
	}
	if o.noFollow {
		if fi, err := os.Lstat(l.host); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
			_ = os.Remove(l.host)
		}
	}
	f, err := os.CreateTemp(filepath.Dir(l.host), ".fake-write-*")
	if err != nil {
		return pathErr("open", l.guest, underlying(err))
	}
	_, werr := f.Write(data)
	cerr := f.Close()
	if err := errors.Join(werr, cerr, os.Chmod(f.Name(), o.perm.Perm())); err != nil {
		_ = os.Remove(f.Name())
		return pathErr("write", l.guest, underlying(err))
	}
	if err := os.Rename(f.Name(), l.host); err != nil {
		_ = os.Remove(f.Name())
		return pathErr("write", l.guest, underlying(err))
	}
	return nil
}

// mkdir creates the directory p. With owner set, an existing directory
// takes the mode and owner instead of failing (tar extraction).
func (v *vfs) mkdir(p string, perm fs.FileMode, owner *[2]int) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	l, err := v.resolve(p, owner != nil)
	if err != nil {
		return err
	}
	if err := v.writable(l); err != nil {
		return err
	}
	if l.onHost() {
		err := os.Mkdir(l.host, perm.Perm())
		if errors.Is(err, fs.ErrExist) && owner != nil {
			return os.Chmod(l.host, perm.Perm())
		}
		if err != nil {
			return pathErr("mkdir", p, underlying(err))
		}
		return nil
	}
	if n := v.nodes[l.mem]; n != nil {
		if owner == nil || !n.mode.IsDir() {
			return pathErr("mkdir", p, fs.ErrExist)
		}
		n.mode = fs.ModeDir | perm.Perm()
		n.uid, n.gid = owner[0], owner[1]
		return nil
	}
	if err := v.parentDir(l.mem, p); err != nil {
		return pathErr("mkdir", p, fs.ErrNotExist)
	}
	uid, gid := v.uid, v.gid
	if owner != nil {
		uid, gid = owner[0], owner[1]
	}
	v.nodes[l.mem] = &node{mode: fs.ModeDir | perm.Perm(), uid: uid, gid: gid, mtime: time.Now()}
	return nil
}

// mkdirAll creates p and its missing parents; new directories are owned
// like the nearest existing ancestor when inherit is set (CopyIn, as the
// Docker backend does), else by the file system's user.
func (v *vfs) mkdirAll(p string, perm fs.FileMode, inherit bool) error {
	cur := "/"
	uid, gid := v.uid, v.gid
	for _, name := range splitPath(p) {
		cur = path.Join(cur, name)
		fi, err := v.stat(cur, true)
		if err == nil {
			if !fi.Mode.IsDir() {
				return pathErr("mkdir", cur, syscall.ENOTDIR)
			}
			if inherit {
				uid, gid = fi.UID, fi.GID
			}
			continue
		}
		var owner *[2]int
		if inherit {
			owner = &[2]int{uid, gid}
		}
		if err := v.mkdir(cur, perm, owner); err != nil && !errors.Is(err, fs.ErrExist) {
			return err
		}
	}
	return nil
}

// symlink creates the link p to target, owned by owner when set.
func (v *vfs) symlink(target, p string, owner *[2]int) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	l, err := v.resolve(p, false)
	if err != nil {
		return err
	}
	if err := v.writable(l); err != nil {
		return err
	}
	if l.onHost() {
		if err := os.Symlink(target, l.host); err != nil {
			return pathErr("symlink", p, underlying(err))
		}
		return nil
	}
	if _, ok := v.nodes[l.mem]; ok {
		return pathErr("symlink", p, fs.ErrExist)
	}
	if err := v.parentDir(l.mem, p); err != nil {
		return err
	}
	n := &node{mode: fs.ModeSymlink | 0o777, link: target, uid: v.uid, gid: v.gid, mtime: time.Now()}
	if owner != nil {
		n.uid, n.gid = owner[0], owner[1]
	}
	v.nodes[l.mem] = n
	return nil
}

// remove deletes p (and, with all, everything below it).
func (v *vfs) remove(p string, all bool) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	l, err := v.resolve(p, false)
	if err != nil {
		return err
	}
	if err := v.writable(l); err != nil {
		return err
	}
	if l.onHost() {
		rm := os.Remove
		if all {
			rm = os.RemoveAll
		}
		if err := rm(l.host); err != nil {
			return pathErr("remove", p, underlying(err))
		}
		return nil
	}
	n := v.nodes[l.mem]
	if n == nil {
		return pathErr("remove", p, fs.ErrNotExist)
	}
	below := v.subtree(l.mem)
	if n.mode.IsDir() && len(below) > 0 && !all {
		return pathErr("remove", p, syscall.ENOTEMPTY)
	}
	for _, c := range below {
		delete(v.nodes, c)
	}
	delete(v.nodes, l.mem)
	return nil
}
