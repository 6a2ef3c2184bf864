package fake

import (
	"io/fs"
	"os"
	"time"
)

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
