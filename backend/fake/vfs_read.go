package fake

import (
	"errors"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"syscall"
)

// stat describes p, following a final symlink when follow is set.
func (v *vfs) stat(p string, follow bool) (File, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	l, err := v.resolve(p, follow)
	if err != nil {
		return File{}, err
	}
	if l.onHost() {
		stat := os.Stat
		if !follow {
			stat = os.Lstat
		}
		fi, err := stat(l.host)
		if err != nil {
			return File{}, pathErr("stat", p, underlying(err))
		}
		f := File{Path: p, Mode: fi.Mode(), Size: fi.Size(), ModTime: fi.ModTime()}
		if fi.Mode()&fs.ModeSymlink != 0 {
			f.Link, _ = os.Readlink(l.host)
		}
		return f, nil
	}
	n := v.nodes[l.mem]
	if n == nil {
		return File{}, pathErr("stat", p, fs.ErrNotExist)
	}
	return n.info(p), nil
}

// underlying strips the host path from a host error, so that messages name
// the guest path.
func underlying(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func (v *vfs) readFile(p string) ([]byte, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	l, err := v.resolve(p, true)
	if err != nil {
		return nil, err
	}
	if l.onHost() {
		data, err := os.ReadFile(l.host)
		if err != nil {
			return nil, pathErr("open", p, underlying(err))
		}
		return data, nil
	}
	n := v.nodes[l.mem]
	switch {
	case n == nil:
		return nil, pathErr("open", p, fs.ErrNotExist)
	case n.mode.IsDir():
		return nil, pathErr("read", p, syscall.EISDIR)
	}
	return slices.Clone(n.data), nil
}

// checkCreate reports whether a file could be written at p: what a shell
// checks when it opens a redirection.
func (v *vfs) checkCreate(p string) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	l, err := v.resolve(p, true)
	if err != nil {
		return err
	}
	if err := v.writable(l); err != nil {
		return err
	}
	if l.onHost() {
		fi, err := os.Stat(filepath.Dir(l.host))
		if err != nil {
			return pathErr("open", p, underlying(err))
		}
		if !fi.IsDir() {
			return pathErr("open", p, syscall.ENOTDIR)
		}
		return nil
	}
	if n := v.nodes[l.mem]; n != nil && n.mode.IsDir() {
		return pathErr("open", p, syscall.EISDIR)
	}
	return v.parentDir(l.mem, p)
}

// readDir lists the entries of the directory p by name, sorted.
func (v *vfs) readDir(p string) ([]File, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	l, err := v.resolve(p, true)
	if err != nil {
		return nil, err
	}
	if l.onHost() {
		entries, err := os.ReadDir(l.host)
		if err != nil {
			return nil, pathErr("open", p, underlying(err))
		}
		out := make([]File, 0, len(entries))
		for _, e := range entries {
			fi, err := e.Info()
			if err != nil {
				continue
			}
			out = append(out, File{Path: e.Name(), Mode: fi.Mode(), Size: fi.Size(), ModTime: fi.ModTime()})
		}
		return out, nil
	}
	n := v.nodes[l.mem]
	switch {
	case n == nil:
		return nil, pathErr("open", p, fs.ErrNotExist)
	case !n.mode.IsDir():
		return nil, pathErr("open", p, syscall.ENOTDIR)
	}
	var out []File
	for _, c := range v.children(l.mem) {
		out = append(out, v.nodes[c].info(path.Base(c)))
	}
	return out, nil
}

// canWrite reports whether the existing path p may be written: not on a
// read-only mount, nor in a removed instance.
func (v *vfs) canWrite(p string) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	l, err := v.resolve(p, true)
	if err != nil {
		return err
	}
	return v.writable(l)
}
