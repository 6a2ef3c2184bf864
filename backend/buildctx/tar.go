package buildctx

import (
	"archive/tar"
	"bufio"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"
)

// bufSize is the size of the write buffer and of the file copy buffer. Big
// writes matter: the stream usually feeds an HTTP request body through a
// pipe, and every small write there is a goroutine hand-off.
const bufSize = 1 << 20

// fileID identifies an inode, to archive hard links as links.
type fileID struct{ dev, ino uint64 }

// Tar writes a tar stream of the contents of dir to w. Entry names are
// relative to dir ("a", "a/b"; dir itself has no entry). Entries matching
// excludes (.dockerignore syntax) are left out. Modes, symlinks (as links,
// never followed), hard links, mtimes (to the second) and numeric uid/gid are
// kept; sockets and devices are skipped.
func Tar(ctx context.Context, dir string, excludes []string, w io.Writer) error {
	pm, err := newMatcher(excludes)
	if err != nil {
		return err
	}
	tw := newTarWriter(w)
	wk := walker{root: dir, pm: pm, fn: tw.add}
	if err := wk.walk(ctx); err != nil {
		return fmt.Errorf("archive %s: %w", dir, err)
	}
	if err := tw.close(); err != nil {
		return fmt.Errorf("archive %s: %w", dir, err)
	}
	return nil
}

// tarWriter writes walk entries as tar entries through one large buffer.
type tarWriter struct {
	bw    *bufio.Writer
	tw    *tar.Writer
	buf   []byte
	links map[fileID]string
}

func newTarWriter(w io.Writer) *tarWriter {
	bw := bufio.NewWriterSize(w, bufSize)
	return &tarWriter{
		bw:    bw,
		tw:    tar.NewWriter(bw),
		buf:   make([]byte, bufSize),
		links: map[fileID]string{},
	}
}

// add writes one entry; the walker calls it in walk order.
func (t *tarWriter) add(e entry) error {
	hdr, err := header(e)
	if err != nil || hdr == nil {
		return err
	}
	if hdr.Typeflag == tar.TypeReg {
		if id, ok := inode(e.info); ok {
			if first, seen := t.links[id]; seen {
				hdr.Typeflag, hdr.Linkname, hdr.Size = tar.TypeLink, first, 0
			} else {
				t.links[id] = e.rel
			}
		}
	}
	if err := t.tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("%s: %w", e.rel, err)
	}
	if hdr.Typeflag == tar.TypeReg && hdr.Size > 0 {
		return t.copyFile(e.path, e.rel, hdr.Size)
	}
	return nil
}

// copyFile copies exactly size bytes (the size in the header already
// written): a file that grew is cut at the size it had when stat'ed, one
// that shrank is an error rather than a corrupt stream.
func (t *tarWriter) copyFile(path, rel string, size int64) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	// A read-only file: Close cannot lose data, so its error is not useful.
	defer f.Close()
	// LimitReader also hides (*os.File).WriteTo, so CopyBuffer uses our
	// buffer instead of allocating 32 KiB per file.
	n, err := io.CopyBuffer(t.tw, io.LimitReader(f, size), t.buf)
	if err != nil {
		return fmt.Errorf("%s: %w", rel, err)
	}
	if n != size {
		return fmt.Errorf("%s: file shrank from %d to %d bytes while archiving", rel, size, n)
	}
	return nil
}

// addBytes writes a synthetic regular file (the build context's Dockerfile).
func (t *tarWriter) addBytes(name string, data []byte, mtime time.Time) error {
	hdr := &tar.Header{
		Typeflag: tar.TypeReg,
		Name:     name,
		Mode:     0o644,
		Size:     int64(len(data)),
		ModTime:  mtime.Truncate(time.Second),
	}
	if err := t.tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	_, err := t.tw.Write(data)
	return err
}

func (t *tarWriter) close() error {
	if err := t.tw.Close(); err != nil {
		return err
	}
	return t.bw.Flush()
}

// header builds the tar header of one entry, or nil for a type that is not
// archived (sockets, devices).
func header(e entry) (*tar.Header, error) {
	fi := e.info
	m := fi.Mode()
	uid, gid := owner(fi)
	hdr := &tar.Header{
		Name: e.rel,
		Mode: tarMode(m),
		Uid:  uid,
		Gid:  gid,
		// Truncated, not rounded (tar.Writer would round): a copied file
		// must never look newer than its source.
		ModTime: fi.ModTime().Truncate(time.Second),
	}
	switch {
	case m.IsRegular():
		hdr.Typeflag = tar.TypeReg
		hdr.Size = fi.Size()
	case m.IsDir():
		hdr.Typeflag = tar.TypeDir
		hdr.Name += "/"
	case m&fs.ModeSymlink != 0:
		target, err := os.Readlink(e.path)
		if err != nil {
			return nil, err
		}
		hdr.Typeflag = tar.TypeSymlink
		hdr.Linkname = target
	case m&fs.ModeNamedPipe != 0:
		hdr.Typeflag = tar.TypeFifo
	default:
		return nil, nil
	}
	return hdr, nil
}

// tarMode converts Go's file mode to the tar (and Unix) mode bits.
func tarMode(m fs.FileMode) int64 {
	mode := int64(m.Perm())
	if m&fs.ModeSetuid != 0 {
		mode |= 0o4000
	}
	if m&fs.ModeSetgid != 0 {
		mode |= 0o2000
	}
	if m&fs.ModeSticky != 0 {
		mode |= 0o1000
	}
	return mode
}
