package fake

import (
	"errors"
	"io/fs"
	"os"
	"syscall"
	"time"
)

// rename moves old to new, within the tree or within the host.
func (v *vfs) rename(oldp, newp string) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	from, err := v.resolve(oldp, false)
	if err != nil {
		return err
	}
	to, err := v.resolve(newp, false)
	if err != nil {
		return err
	}
	if err := errors.Join(v.writable(from), v.writable(to)); err != nil {
		return err
	}
	switch {
	case from.onHost() && to.onHost():
		if err := os.Rename(from.host, to.host); err != nil {
			return pathErr("rename", oldp, underlying(err))
		}
		return nil
	case from.onHost() || to.onHost():
		return pathErr("rename", oldp, syscall.EXDEV)
	}
	n := v.nodes[from.mem]
	if n == nil {
		return pathErr("rename", oldp, fs.ErrNotExist)
	}
	if err := v.parentDir(to.mem, newp); err != nil {
		return err
	}
	if under(to.mem, from.mem) {
		return pathErr("rename", oldp, fs.ErrInvalid)
	}
	for _, c := range v.subtree(from.mem) {
		v.nodes[to.mem+c[len(from.mem):]] = v.nodes[c]
		delete(v.nodes, c)
	}
	delete(v.nodes, from.mem)
	v.nodes[to.mem] = n
	return nil
}

// chmod sets the permission bits of p.
func (v *vfs) chmod(p string, perm fs.FileMode) error {
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
		if err := os.Chmod(l.host, perm); err != nil {
			return pathErr("chmod", p, underlying(err))
		}
		return nil
	}
	n := v.nodes[l.mem]
	if n == nil {
		return pathErr("chmod", p, fs.ErrNotExist)
	}
	n.mode = n.mode.Type() | perm.Perm() | perm&(fs.ModeSticky|fs.ModeSetuid|fs.ModeSetgid)
	return nil
}

// touch creates p empty when missing, else updates its mtime.
func (v *vfs) touch(p string) error {
	if _, err := v.stat(p, true); err != nil {
		return v.write(p, nil, writeOpts{perm: 0o644, append: true})
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	l, err := v.resolve(p, true)
	if err != nil {
		return err
	}
	if err := v.writable(l); err != nil {
		return err
	}
	now := time.Now()
	if l.onHost() {
		return os.Chtimes(l.host, now, now)
	}
	if n := v.nodes[l.mem]; n != nil {
		n.mtime = now
	}
	return nil
}
