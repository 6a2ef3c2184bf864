package docker

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"

	"github.com/bottle-dev/bottle/backend"
)

// copyBufSize matches buildctx's buffer: large writes through the pipe to
// the HTTP body.
const copyBufSize = 1 << 20

// CopyIn extracts the tar stream r at the absolute directory dst inside the
// container, which may be created but not started. Missing directories on
// the way to dst are created first, owned by owner or else like their
// nearest existing ancestor: restoring /home/agent/.claude into a fresh
// container, or copying a workspace to a /workspace the image lacks, must
// give the agent a directory it can write.
func (b *Backend) CopyIn(ctx context.Context, id, dst string, r io.Reader, owner *backend.Owner) error {
	if !path.IsAbs(dst) {
		return fmt.Errorf("copy into %s: destination %q is not absolute", id, dst)
	}
	dst = path.Clean(dst)
	if err := b.mkdirAll(ctx, id, dst, owner); err != nil {
		return err
	}
	err := b.c.CopyToContainer(ctx, id, dst, r, container.CopyToContainerOptions{})
	return wrap(err, "copy into %s:%s", id, dst)
}

// mkdirAll creates dst and its missing parents inside the container. The
// engine's copy endpoint refuses a missing destination, and extracting a tar
// entry for a directory that exists would reset its owner and mode, so only
// the missing part of the path is sent, plus, with an owner, dst itself
// (keeping its mode): the engine makes a missing workdir root's when it
// creates the container, and a copied workspace must be the agent's.
func (b *Backend) mkdirAll(ctx context.Context, id, dst string, owner *backend.Owner) error {
	var missing []string
	mode := map[string]int64{}
	base := dst
	for ; base != "/"; base = path.Dir(base) {
		st, err := b.c.ContainerStatPath(ctx, id, base)
		if err == nil {
			if !st.Mode.IsDir() && st.Mode&fs.ModeSymlink == 0 {
				return fmt.Errorf("copy into %s:%s: %s is not a directory", id, dst, base)
			}
			if base == dst && owner != nil && st.Mode.IsDir() {
				missing, mode[dst], base = []string{dst}, int64(st.Mode.Perm()), path.Dir(dst)
			}
			break
		}
		if !isNotFound(err) {
			return wrap(err, "copy into %s:%s", id, dst)
		}
		missing = append(missing, base)
	}
	if len(missing) == 0 {
		return nil
	}
	var uid, gid int
	var err error
	if owner != nil {
		uid, gid = owner.UID, owner.GID
	} else if uid, gid, err = b.owner(ctx, id, base); err != nil {
		return err
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	now := time.Now().Truncate(time.Second)
	for i := len(missing) - 1; i >= 0; i-- { // parents first
		name := strings.TrimPrefix(strings.TrimPrefix(missing[i], base), "/")
		perm, ok := mode[missing[i]]
		if !ok {
			perm = 0o755
		}
		hdr := &tar.Header{Typeflag: tar.TypeDir, Name: name + "/", Mode: perm, Uid: uid, Gid: gid, ModTime: now}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	err = b.c.CopyToContainer(ctx, id, base, &buf, container.CopyToContainerOptions{})
	return wrap(err, "create %s:%s", id, dst)
}

// owner returns the numeric owner of a directory inside the container. The
// stat endpoint has no owner, so it reads the first header of an archive of
// the directory (the directory itself) and hangs up.
func (b *Backend) owner(ctx context.Context, id, dir string) (uid, gid int, err error) {
	if dir == "/" {
		return 0, 0, nil
	}
	rc, _, err := b.c.CopyFromContainer(ctx, id, dir)
	if err != nil {
		return 0, 0, wrap(err, "stat %s:%s", id, dir)
	}
	defer rc.Close() // hanging up early is the point; nothing to report
	hdr, err := tar.NewReader(rc).Next()
	if err != nil {
		return 0, 0, fmt.Errorf("stat %s:%s: %w", id, dir, err)
	}
	return hdr.Uid, hdr.Gid, nil
}

// CopyOut writes a tar stream of the contents of the directory src inside
// the container to w, with entry names relative to src and no entry for src
// itself. The container may be running, stopped or never started.
func (b *Backend) CopyOut(ctx context.Context, id, src string, w io.Writer) error {
	if !path.IsAbs(src) {
		return fmt.Errorf("copy out of %s: source %q is not absolute", id, src)
	}
	rc, st, err := b.c.CopyFromContainer(ctx, id, path.Clean(src))
	if err != nil {
		return wrap(err, "copy out of %s:%s", id, src)
	}
	defer rc.Close()
	if !st.Mode.IsDir() {
		return fmt.Errorf("copy out of %s:%s: not a directory", id, src)
	}
	if err := rebase(rc, w, st.Name); err != nil {
		return fmt.Errorf("copy out of %s:%s: %w", id, src, err)
	}
	return nil
}

// rebase rewrites an engine archive, whose entries are all under the
// directory's base name ("base/", "base/f"), into one relative to the
// directory ("f"), dropping the directory's own entry.
func rebase(r io.Reader, w io.Writer, base string) error {
	tr := tar.NewReader(r)
	bw := bufio.NewWriterSize(w, copyBufSize)
	tw := tar.NewWriter(bw)
	buf := make([]byte, copyBufSize)
	for {
		in, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		name, ok := strip(in.Name, base)
		if !ok {
			return fmt.Errorf("unexpected archive entry %q outside %q", in.Name, base)
		}
		if name == "" {
			continue
		}
		link := in.Linkname
		if in.Typeflag == tar.TypeLink {
			// Hard links name another entry of the archive; symlink
			// targets are paths inside the bottle and stay as they are.
			if link, ok = strip(link, base); !ok || link == "" {
				return fmt.Errorf("unexpected hard link %q -> %q", in.Name, in.Linkname)
			}
		}
		// A fresh header, as archive/tar asks of code that rewrites headers:
		// the PAX records for the old path must not come along.
		out := &tar.Header{
			Typeflag: in.Typeflag, Name: name, Linkname: link, Size: in.Size, Mode: in.Mode,
			Uid: in.Uid, Gid: in.Gid, Uname: in.Uname, Gname: in.Gname,
			ModTime: in.ModTime.Truncate(time.Second), Devmajor: in.Devmajor, Devminor: in.Devminor,
			PAXRecords: extraRecords(in.PAXRecords),
		}
		if err := tw.WriteHeader(out); err != nil {
			return err
		}
		if _, err := io.CopyBuffer(tw, tr, buf); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return bw.Flush()
}

// strip removes the leading "base/" from an archive name; ok is false for a
// name outside base. The directory's own entry gives "".
func strip(name, base string) (string, bool) {
	name = strings.TrimPrefix(name, "./")
	if name == base || name == base+"/" {
		return "", true
	}
	rest, ok := strings.CutPrefix(name, base+"/")
	return rest, ok
}

// extraRecords keeps the PAX records that carry more than Header fields do
// (extended attributes such as file capabilities).
func extraRecords(in map[string]string) map[string]string {
	var out map[string]string
	for k, v := range in {
		if strings.HasPrefix(k, "SCHILY.xattr.") {
			if out == nil {
				out = map[string]string{}
			}
			out[k] = v
		}
	}
	return out
}
