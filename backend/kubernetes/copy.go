package kubernetes

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/bottle-dev/bottle/backend"
	"github.com/bottle-dev/bottle/backend/buildctx"
)

// CopyIn extracts the tar stream r at dst inside the bottle (tar over exec
// in the agent's container, as the container's user), creating dst when
// missing; with an owner, dst and the parents it created belong to it.
func (b *Backend) CopyIn(ctx context.Context, id, dst string, r io.Reader, owner *backend.Owner) error {
	if !path.IsAbs(dst) {
		return fmt.Errorf("copy into %s: destination %q is not absolute", id, dst)
	}
	if _, err := b.pod(ctx, id); err != nil {
		return err
	}
	return b.copyIn(ctx, id, agentContainer, path.Clean(dst), r, owner)
}

func (b *Backend) copyIn(ctx context.Context, id, container, dst string, r io.Reader, owner *backend.Owner) error {
	o := ""
	if owner != nil {
		o = fmt.Sprintf("%d:%d", owner.UID, owner.GID)
	}
	var stderr limitedBuffer
	code, err := b.exec(ctx, id, container, []string{"/bin/sh", "-c", copyInSh, "bottle-copy-in", dst, o}, streams{stdin: r, stderr: &stderr})
	if err != nil {
		return fmt.Errorf("copy into %s:%s: %w", id, dst, err)
	}
	if code != 0 {
		return fmt.Errorf("copy into %s:%s: tar exited %d: %s", id, dst, code, strings.TrimSpace(stderr.String()))
	}
	return nil
}

// CopyOut writes a tar stream of the directory src inside the bottle to w,
// entries relative to src and no entry for src itself. The agent's
// container outlives the agent, so a stopped bottle can be copied from. A
// missing src wraps ErrNotFound.
func (b *Backend) CopyOut(ctx context.Context, id, src string, w io.Writer) error {
	if !path.IsAbs(src) {
		return fmt.Errorf("copy from %s: source %q is not absolute", id, src)
	}
	if _, err := b.pod(ctx, id); err != nil {
		return err
	}
	pr, pw := io.Pipe()
	// The copy in the Pod ends only when its stdin does, and bottle ends
	// that once it has read the archive's end: a process that exits while
	// its last output is still in the runtime's pipe can lose that tail on
	// the way through the kubelet (seen as a short 100 MiB copy under load).
	held, release := io.Pipe()
	tw := tar.NewWriter(w)
	relayed := make(chan error, 1)
	go func() {
		err := buildctx.Relative(pr, tw)
		release.Close()
		_, _ = io.Copy(io.Discard, pr) // let the stream finish
		relayed <- err
	}()
	var stderr limitedBuffer
	code, err := b.exec(ctx, id, agentContainer, []string{"/bin/sh", "-c", copyOutSh, "bottle-copy-out", src}, streams{stdin: held, stdout: pw, stderr: &stderr})
	release.Close()
	pw.Close()
	terr := <-relayed
	switch {
	case err != nil:
		return fmt.Errorf("copy from %s:%s: %w", id, src, err)
	case code == 44:
		return fmt.Errorf("copy from %s:%s: %w", id, src, backend.ErrNotFound)
	case code != 0:
		return fmt.Errorf("copy from %s:%s: tar exited %d: %s", id, src, code, strings.TrimSpace(stderr.String()))
	case terr != nil:
		return fmt.Errorf("copy from %s:%s: %w", id, src, terr)
	}
	return tw.Close()
}

// fillMounts copies every mount's host directory into its volume, through
// the status container, which sees every volume read-write (the agent may
// see it read-only). A Pod on a cluster cannot bind-mount the host that
// runs bottle, so a mount is a copy taken at Create. All mounts go in one
// exec (one tar stream, mount i's tree under "i/"): each exec is a round
// trip through the API server and the kubelet that the launch waits for.
func (b *Backend) fillMounts(ctx context.Context, p *corev1.Pod) error {
	mounts := mountsOf(p)
	if len(mounts) == 0 {
		return nil
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(tarMounts(ctx, mounts, pw)) }()
	err := b.copyIn(ctx, p.Name, statusContainer, mountsDir, pr, nil)
	pr.Close()
	if err != nil {
		sources := make([]string, len(mounts))
		for i, m := range mounts {
			sources[i] = m.Source
		}
		return fmt.Errorf("mount %s: %w", strings.Join(sources, ", "), err)
	}
	return nil
}

// tarMounts writes one tar stream of every mount's source directory, the
// entries of mount i under "i/" (mountDir's last element), without an
// entry for "i/" itself: that folder is the volume's mount point.
func tarMounts(ctx context.Context, mounts []backend.Mount, w io.Writer) error {
	tw := tar.NewWriter(w)
	for i, m := range mounts {
		prefix := strconv.Itoa(i) + "/"
		pr, pw := io.Pipe()
		go func() { pw.CloseWithError(buildctx.Tar(ctx, m.Source, nil, pw)) }()
		err := prefixTar(tar.NewReader(pr), tw, prefix)
		pr.CloseWithError(err)
		if err != nil {
			return fmt.Errorf("mount %s: %w", m.Source, err)
		}
	}
	return tw.Close()
}

// prefixTar copies the entries of tr to tw with prefix before their names
// (and before a hard link's target), dropping the root entry.
func prefixTar(tr *tar.Reader, tw *tar.Writer, prefix string) error {
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		name := strings.TrimPrefix(path.Clean("/"+h.Name), "/")
		if name == "" {
			continue
		}
		if h.Typeflag == tar.TypeDir {
			name += "/"
		}
		h.Name = prefix + name
		if h.Typeflag == tar.TypeLink {
			h.Linkname = prefix + strings.TrimPrefix(path.Clean("/"+h.Linkname), "/")
		}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if _, err := io.Copy(tw, tr); err != nil {
			return err
		}
	}
}
