package fake

import (
	"bytes"
	"context"
	"io"
	"io/fs"
	"os"
	"path"
	"syscall"
	"time"

	"mvdan.cc/sh/v3/interp"
)

// The interpreter's file handlers: redirections, globs, test, cd and
// source all reach the fake's file system through these, never the host's
// (except through a Spec mount, as in a real container).

// open serves redirections and source. A file opened for writing collects
// what is written and stores it when closed, in one write (atomic through
// a mount); whether it can be created is checked at open, as a shell does.
func (sh *shell) open(ctx context.Context, p string, flag int, perm os.FileMode) (io.ReadWriteCloser, error) {
	p = absIn(interp.HandlerCtx(ctx).Dir, p)
	if p == "/dev/null" {
		return devNull{}, nil
	}
	if flag&(os.O_WRONLY|os.O_RDWR) == 0 {
		data, err := sh.fs.readFile(p)
		if err != nil {
			return nil, &fs.PathError{Op: "open", Path: p, Err: underlying(err)}
		}
		return &memFile{r: bytes.NewReader(data)}, nil
	}
	if err := sh.fs.checkCreate(p); err != nil {
		return nil, &fs.PathError{Op: "open", Path: p, Err: underlying(err)}
	}
	return &memFile{fs: sh.fs, path: p, append: flag&os.O_APPEND != 0, perm: perm, w: &bytes.Buffer{}}, nil
}

// stat serves test, cd and globs.
func (sh *shell) stat(ctx context.Context, p string, follow bool) (fs.FileInfo, error) {
	f, err := sh.fs.stat(absIn(interp.HandlerCtx(ctx).Dir, p), follow)
	if err != nil {
		return nil, &fs.PathError{Op: "stat", Path: p, Err: underlying(err)}
	}
	return fileInfo{f}, nil
}

// readDir serves globs.
func (sh *shell) readDir(ctx context.Context, p string) ([]fs.DirEntry, error) {
	files, err := sh.fs.readDir(absIn(interp.HandlerCtx(ctx).Dir, p))
	if err != nil {
		return nil, &fs.PathError{Op: "readdir", Path: p, Err: underlying(err)}
	}
	out := make([]fs.DirEntry, len(files))
	for i, f := range files {
		out[i] = fs.FileInfoToDirEntry(fileInfo{f})
	}
	return out, nil
}

// access serves test -r/-w/-x and cd's search check. Permission bits
// count for anyone (the agent's user is not modelled); a read-only mount
// or a removed instance is never writable.
func (sh *shell) access(ctx context.Context, p string, mode interp.AccessMode) error {
	p = absIn(interp.HandlerCtx(ctx).Dir, p)
	f, err := sh.fs.stat(p, true)
	if err != nil {
		return &fs.PathError{Op: "access", Path: p, Err: underlying(err)}
	}
	perm := f.Mode.Perm()
	ok := true
	if mode&interp.AccessRead != 0 {
		ok = ok && perm&0o444 != 0
	}
	if mode&interp.AccessWrite != 0 {
		ok = ok && perm&0o222 != 0 && sh.fs.canWrite(p) == nil
	}
	if mode&interp.AccessExec != 0 {
		ok = ok && perm&0o111 != 0
	}
	if !ok {
		return &fs.PathError{Op: "access", Path: p, Err: syscall.EACCES}
	}
	return nil
}

// memFile is a file opened by a redirection: a snapshot to read, or a
// buffer stored at Close.
type memFile struct {
	r      *bytes.Reader
	w      *bytes.Buffer
	fs     *vfs
	path   string
	append bool
	perm   os.FileMode
}

func (f *memFile) Read(p []byte) (int, error) {
	if f.r == nil {
		return 0, syscall.EBADF
	}
	return f.r.Read(p)
}

func (f *memFile) Write(p []byte) (int, error) {
	if f.w == nil {
		return 0, syscall.EBADF
	}
	return f.w.Write(p)
}

func (f *memFile) Close() error {
	if f.w == nil {
		return nil
	}
	perm := f.perm
	if perm == 0 {
		perm = 0o644
	}
	return f.fs.write(f.path, f.w.Bytes(), writeOpts{perm: perm, append: f.append})
}

type devNull struct{}

func (devNull) Read([]byte) (int, error)    { return 0, io.EOF }
func (devNull) Write(p []byte) (int, error) { return len(p), nil }
func (devNull) Close() error                { return nil }

// fileInfo is a File as an fs.FileInfo.
type fileInfo struct{ f File }

func (i fileInfo) Name() string       { return path.Base(i.f.Path) }
func (i fileInfo) Size() int64        { return i.f.Size }
func (i fileInfo) Mode() fs.FileMode  { return i.f.Mode }
func (i fileInfo) ModTime() time.Time { return i.f.ModTime }
func (i fileInfo) IsDir() bool        { return i.f.Mode.IsDir() }
func (i fileInfo) Sys() any           { return nil }
