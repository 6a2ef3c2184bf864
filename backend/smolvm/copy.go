package smolvm

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"time"

	"github.com/bottle-dev/bottle/backend"
	"github.com/bottle-dev/bottle/backend/buildctx"
)

// Trees move as tar streams through exec (smolvm's cp copies single files).
const (
	// copyInSh gives the directories it creates for $1 to $2 (uid:gid),
	// or when $2 is empty to the owner of their nearest existing ancestor
	// (as the docker backend does): the topmost missing one is found first,
	// and is still empty when chown -R runs. With $2, $1 itself becomes
	// $2's even when it exists.
	copyInSh = `top=; d="$1"; while [ ! -e "$d" ]; do top="$d"; d=$(dirname "$d"); done; o="$2"; ` +
		`[ -n "$o" ] || o=$(stat -c %u:%g "$d") && mkdir -p "$1" && ` +
		`{ [ -z "$top" ] || chown -R "$o" "$top"; } && { [ -z "$2" ] || chown "$2" "$1"; } && tar -xf - -C "$1"`
	// copyOutSh exits 44 for a missing directory so that case is told
	// apart from tar failing.
	copyOutSh = `[ -d "$1" ] || { echo "no such directory: $1" >&2; exit 44; }; tar -C "$1" -cf - .`
)

// CopyIn extracts the tar stream r at dst inside the machine (`exec -i`,
// the tar on stdin); the directories made for dst belong to owner when set.
// A stopped machine is started for the copy and stopped again.
func (b *Backend) CopyIn(ctx context.Context, id, dst string, r io.Reader, owner *backend.Owner) error {
	if !path.IsAbs(dst) {
		return fmt.Errorf("smolvm backend: copy destination %q is not absolute", dst)
	}
	chown := ""
	if owner != nil {
		chown = fmt.Sprintf("%d:%d", owner.UID, owner.GID)
	}
	return b.withRunning(ctx, id, func() error {
		args := []string{"machine", "exec", "--name", id, "-i", "--", "sh", "-c", copyInSh, "bottle-copy-in", dst, chown}
		res, err := b.run(ctx, call{args: args, stdin: r})
		if err != nil {
			return err
		}
		if res.code != 0 {
			return fmt.Errorf("copy into %s:%s: %w", id, dst, newError(args, res))
		}
		return nil
	})
}

// CopyOut writes a tar stream of the directory src to w, with entries
// relative to src and no entry for src itself. The tar streams through
// `exec -i` with an empty stdin: buffered exec stops reading at about
// 11 MiB and --stream at 11 MiB in all, while -i has no cap and passes
// stdout through byte for byte. The guest tar's "./x" entries are renamed
// on the way. A stopped machine is started for
// the copy and stopped again. A missing src wraps ErrNotFound.
func (b *Backend) CopyOut(ctx context.Context, id, src string, w io.Writer) error {
	if !path.IsAbs(src) {
		return fmt.Errorf("smolvm backend: copy source %q is not absolute", src)
	}
	return b.withRunning(ctx, id, func() error {
		args := []string{"machine", "exec", "--name", id, "-i", "--", "sh", "-c", copyOutSh, "bottle-copy-out", src}
		pr, pw := io.Pipe()
		tw := tar.NewWriter(w)
		relayed := make(chan error, 1)
		go func() {
			err := buildctx.Relative(pr, tw)
			io.Copy(io.Discard, pr) //nolint:errcheck // let smolvm finish writing
			relayed <- err
		}()
		res, err := b.run(ctx, call{args: args, stdout: pw})
		pw.Close()
		terr := <-relayed
		switch {
		case err != nil:
			return err
		case cliFailure(res):
			return fmt.Errorf("copy from %s:%s: %w", id, src, newError(args, res))
		case res.code == 44:
			return fmt.Errorf("copy from %s:%s: %w", id, src, backend.ErrNotFound)
		case res.code != 0:
			return fmt.Errorf("copy from %s:%s: %w", id, src, newError(args, res))
		case terr != nil:
			return fmt.Errorf("copy from %s:%s: %w", id, src, terr)
		}
		return tw.Close()
	})
}

// withRunning runs fn with the machine running. The guest's files can only
// be reached through a running machine, so a stopped (or never started)
// one is booted for fn and stopped again afterwards, even when ctx ends.
func (b *Backend) withRunning(ctx context.Context, id string, fn func() error) error {
	m, err := b.status(ctx, id)
	if err != nil {
		return err
	}
	if m.State == "running" {
		return fn()
	}
	if _, err := b.must(ctx, call{args: []string{"machine", "start", "--name", id}}); err != nil {
		return err
	}
	err = fn()
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 60*time.Second)
	defer cancel()
	if _, serr := b.must(sctx, call{args: []string{"machine", "stop", "--name", id}}); serr != nil {
		err = errors.Join(err, fmt.Errorf("stop %s again: %w", id, serr))
	}
	return err
}
