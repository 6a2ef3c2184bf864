package runner

import (
	"context"
	"errors"
	"io"

	"github.com/bottle-dev/bottle/backend"
	"github.com/bottle-dev/bottle/backend/buildctx"
	"github.com/bottle-dev/bottle/runner/state"
)

// copyDir streams the host folder src (minus excludes) into dst inside the
// instance, without buffering the tree. With an owner, the files and the
// folders made for dst belong to it.
func copyDir(ctx context.Context, be backend.Backend, instance, src, dst string, excludes []string, o *owner) error {
	return copyDirTap(ctx, be, instance, src, dst, excludes, o, nil)
}

// copyDirTap is copyDir that also writes the tar stream, as it was read
// from the host, to tap (when non-nil), and closes tap at the end.
func copyDirTap(ctx context.Context, be backend.Backend, instance, src, dst string, excludes []string, o *owner, tap *io.PipeWriter) error {
	pr, pw := io.Pipe()
	go func() {
		pw.CloseWithError(buildctx.Tar(ctx, src, excludes, pw))
	}()
	var raw io.Reader = pr
	if tap != nil {
		raw = io.TeeReader(pr, tap)
	}
	in := raw
	if o != nil {
		cr, cw := io.Pipe()
		go func() { cw.CloseWithError(chown(raw, cw, o)) }()
		defer cr.Close()
		// Not the pipe itself: an engine client closes a body it can
		// close once the upload ends, and the tap below still reads it.
		in = struct{ io.Reader }{cr}
	}
	err := be.CopyIn(ctx, instance, dst, in, o)
	if tap != nil {
		if err == nil {
			// The engine may stop reading at the archive's end blocks:
			// the tap gets the whole stream all the same.
			_, err = io.Copy(io.Discard, in)
		}
		_ = tap.CloseWithError(err)
	}
	_ = pr.CloseWithError(errors.New("copy ended"))
	return err
}

// snapshot copies the folder src out of the instance into the state dir's
// snapshot folder name, treating the stream as hostile (state.ExtractSnapshot).
func snapshot(ctx context.Context, be backend.Backend, instance, src string, dir *state.Dir, name string) error {
	pr, pw := io.Pipe()
	go func() {
		pw.CloseWithError(be.CopyOut(ctx, instance, src, pw))
	}()
	err := dir.ExtractSnapshot(ctx, name, pr, state.DefaultLimits)
	_ = pr.CloseWithError(errors.New("snapshot ended"))
	return err
}
