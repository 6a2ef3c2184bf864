package docker

import (
	"archive/tar"
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"

	"github.com/bottle-dev/bottle/backend"
)

// Changed lists the paths under dir that the container's writable layer
// added, changed or deleted (the engine's container diff: it reads the
// layer's own folder, not the files of the image).
func (b *Backend) Changed(ctx context.Context, id, dir string) ([]backend.PathChange, error) {
	if !path.IsAbs(dir) {
		return nil, fmt.Errorf("diff %s: %q is not absolute", id, dir)
	}
	dir = path.Clean(dir)
	all, err := b.c.ContainerDiff(ctx, id)
	if err != nil {
		return nil, wrap(err, "diff %s", id)
	}
	var out []backend.PathChange
	for _, c := range all {
		rel, ok := strings.CutPrefix(path.Clean(c.Path), dir+"/")
		if !ok || rel == "" {
			continue
		}
		out = append(out, backend.PathChange{
			Path: rel, Added: c.Kind == container.ChangeAdd, Deleted: c.Kind == container.ChangeDelete,
		})
	}
	return out, nil
}

// CopyOutPaths writes one tar stream of the given paths under dir, each
// read with its own archive request and renamed from the engine's base
// name to its path relative to dir. A path that is gone is left out.
func (b *Backend) CopyOutPaths(ctx context.Context, id, dir string, paths []string, w io.Writer) error {
	if !path.IsAbs(dir) {
		return fmt.Errorf("copy out of %s: %q is not absolute", id, dir)
	}
	bw := bufio.NewWriterSize(w, copyBufSize)
	tw := tar.NewWriter(bw)
	buf := make([]byte, copyBufSize)
	for _, p := range paths {
		if err := ctx.Err(); err != nil {
			return err
		}
		full := path.Join(path.Clean(dir), p)
		if !strings.HasPrefix(full, path.Clean(dir)+"/") {
			return fmt.Errorf("copy out of %s: %q is outside %s", id, p, dir)
		}
		rc, _, err := b.c.CopyFromContainer(ctx, id, full)
		if isNotFound(err) {
			continue
		}
		if err != nil {
			return wrap(err, "copy out of %s:%s", id, full)
		}
		err = renameInto(tw, rc, path.Base(full), path.Dir(p), buf)
		rc.Close()
		if err != nil {
			return fmt.Errorf("copy out of %s:%s: %w", id, full, err)
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return bw.Flush()
}

// renameInto copies the engine archive of one path (entries under its
// base name) into tw with names under parent instead ("." for dir itself).
func renameInto(tw *tar.Writer, r io.Reader, base, parent string, buf []byte) error {
	tr := tar.NewReader(r)
	for {
		in, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		rest, ok := strip(in.Name, base)
		if !ok {
			return fmt.Errorf("unexpected archive entry %q outside %q", in.Name, base)
		}
		name := path.Join(parent, base, rest)
		link := in.Linkname
		if in.Typeflag == tar.TypeLink {
			if rest, ok := strip(link, base); ok {
				link = path.Join(parent, base, rest)
			} else {
				return fmt.Errorf("unexpected hard link %q -> %q", in.Name, in.Linkname)
			}
		}
		out := &tar.Header{
			Typeflag: in.Typeflag, Name: name, Linkname: link, Size: in.Size, Mode: in.Mode,
			Uid: in.Uid, Gid: in.Gid, ModTime: in.ModTime.Truncate(time.Second),
		}
		if err := tw.WriteHeader(out); err != nil {
			return err
		}
		if _, err := io.CopyBuffer(tw, tr, buf); err != nil {
			return err
		}
	}
}
