package fake

import (
	"errors"
	"io/fs"
	"maps"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/bottle-dev/bottle/backend"
)

// errGone is what writes to the file system of a removed instance return:
// a real engine has deleted the container's layer.
var errGone = errors.New("the instance was removed")

// maxLinkHops bounds symlink resolution, as the kernel's ELOOP does.
const maxLinkHops = 40

// vfs is the file system of one instance (or image): an in-memory tree of
// paths, plus bind mounts through which paths reach host directories. It is
// safe for concurrent use.
type vfs struct {
	mu    sync.Mutex
	nodes map[string]*node
	// mounts are sorted longest target first, so that the queue mount
	// wins over the read-only /run/bottle above it.
	mounts []backend.Mount
	gone   bool
	// uid and gid own the files the instance's processes create.
	uid, gid int
}

// node is one entry of the in-memory tree.
type node struct {
	mode     fs.FileMode // type bits and permissions
	data     []byte
	link     string
	uid, gid int
	mtime    time.Time
}

// File describes one entry of an instance's file system.
type File struct {
	// Path is the absolute guest path (Walk) or the base name (readDir).
	Path    string
	Mode    fs.FileMode
	Size    int64
	Link    string // symlink target
	UID     int
	GID     int
	ModTime time.Time
}

// loc is where a guest path lives: in the tree, or on the host through a
// mount.
type loc struct {
	mem   string
	host  string
	ro    bool
	guest string
}

func (l loc) onHost() bool { return l.host != "" }

func newVFS() *vfs {
	v := &vfs{nodes: map[string]*node{}}
	now := time.Now()
	v.nodes["/"] = &node{mode: fs.ModeDir | 0o755, mtime: now}
	v.nodes["/tmp"] = &node{mode: fs.ModeDir | fs.ModeSticky | 0o777, mtime: now}
	return v
}

// clone is a deep copy of the tree, without mounts.
func (v *vfs) clone() *vfs {
	v.mu.Lock()
	defer v.mu.Unlock()
	c := &vfs{nodes: make(map[string]*node, len(v.nodes)), uid: v.uid, gid: v.gid}
	for p, n := range v.nodes {
		cp := *n
		cp.data = slices.Clone(n.data)
		c.nodes[p] = &cp
	}
	return c
}

func (v *vfs) setMounts(ms []backend.Mount) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.mounts = nil
	for _, m := range ms {
		m.Target = path.Clean(m.Target)
		v.mounts = append(v.mounts, m)
		// The engine creates mount points in the container's tree.
		v.mkdirAllLocked(m.Target, 0o755, 0, 0)
	}
	sort.SliceStable(v.mounts, func(i, j int) bool { return len(v.mounts[i].Target) > len(v.mounts[j].Target) })
}

func (v *vfs) markGone() {
	v.mu.Lock()
	v.gone = true
	v.mu.Unlock()
}

func splitPath(p string) []string {
	p = strings.Trim(path.Clean("/"+p), "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}

func under(p, dir string) bool {
	return p == dir || dir == "/" || strings.HasPrefix(p, dir+"/")
}

func pathErr(op, p string, err error) error {
	return &fs.PathError{Op: op, Path: p, Err: err}
}

// resolve finds where the guest path p lives, following symlinks on the
// way (and at the end when follow is set). Paths inside a mount are handed
// to the host, which follows its own links.
func (v *vfs) resolve(p string, follow bool) (loc, error) {
	if !path.IsAbs(p) {
		return loc{}, pathErr("resolve", p, fs.ErrInvalid)
	}
	rest := splitPath(p)
	cur := "/"
	for hops := 0; len(rest) > 0; {
		name := rest[0]
		rest = rest[1:]
		next := path.Join(cur, name)
		if l, ok := v.mountFor(path.Join(append([]string{next}, rest...)...), next, p); ok {
			return l, nil
		}
		n := v.nodes[next]
		if n != nil && n.mode&fs.ModeSymlink != 0 && (len(rest) > 0 || follow) {
			if hops++; hops > maxLinkHops {
				return loc{}, pathErr("resolve", p, syscall.ELOOP)
			}
			target := n.link
			if !path.IsAbs(target) {
				target = path.Join(cur, target)
			}
			rest = append(splitPath(target), rest...)
			cur = "/"
			continue
		}
		if n != nil && !n.mode.IsDir() && len(rest) > 0 {
			return loc{}, pathErr("resolve", p, syscall.ENOTDIR)
		}
		cur = next
	}
	return loc{mem: cur, guest: p}, nil
}

// mountFor returns the host location of full when the walk, at prefix, has
// entered a mount: the longest mount target holding full wins.
func (v *vfs) mountFor(full, prefix, guest string) (loc, bool) {
	entered := false
	for _, m := range v.mounts {
		if under(prefix, m.Target) {
			entered = true
			break
		}
	}
	if !entered {
		return loc{}, false
	}
	for _, m := range v.mounts { // longest first
		if under(full, m.Target) {
			rel := strings.TrimPrefix(strings.TrimPrefix(full, m.Target), "/")
			return loc{host: filepath.Join(m.Source, filepath.FromSlash(rel)), ro: m.ReadOnly, guest: guest}, true
		}
	}
	return loc{}, false
}

// info describes a node as a File.
func (n *node) info(p string) File {
	return File{Path: p, Mode: n.mode, Size: int64(len(n.data)), Link: n.link, UID: n.uid, GID: n.gid, ModTime: n.mtime}
}

// parentDir checks that the parent of the tree path p is a directory.
func (v *vfs) parentDir(p, guest string) error {
	parent := v.nodes[path.Dir(p)]
	if parent == nil {
		return pathErr("open", guest, fs.ErrNotExist)
	}
	if !parent.mode.IsDir() {
		return pathErr("open", guest, syscall.ENOTDIR)
	}
	return nil
}

// mkdirAllLocked creates p and its missing parents in the tree, owned by
// uid:gid. Existing directories are left as they are.
func (v *vfs) mkdirAllLocked(p string, perm fs.FileMode, uid, gid int) {
	cur := "/"
	for _, name := range splitPath(p) {
		cur = path.Join(cur, name)
		if _, ok := v.nodes[cur]; !ok {
			v.nodes[cur] = &node{mode: fs.ModeDir | perm.Perm(), uid: uid, gid: gid, mtime: time.Now()}
		}
	}
}

// children returns the tree paths directly inside dir, sorted.
func (v *vfs) children(dir string) []string {
	var out []string
	for p := range v.nodes {
		if p != dir && path.Dir(p) == dir {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

// subtree returns every tree path strictly below dir.
func (v *vfs) subtree(dir string) []string {
	var out []string
	for p := range maps.Keys(v.nodes) {
		if p != dir && under(p, dir) {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}
