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
// instance, without buffering the tree.
func copyDir(ctx context.Context, be backend.Backend, instance, src, dst string, excludes []string, o *owner) error {
	pr, pw := io.Pipe()
	go func() {
		pw.CloseWithError(buildctx.Tar(ctx, src, excludes, pw))
	}()
	var in io.Reader = pr
	if o != nil {
		cr, cw := io.Pipe()
		go func() { cw.CloseWithError(chown(pr, cw, o)) }()
		defer cr.Close()
		in = cr
	}
	err := be.CopyIn(ctx, instance, dst, in)
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
