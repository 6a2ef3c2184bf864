package runner

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/bottle-dev/bottle/backend"
	"github.com/bottle-dev/bottle/config"
	"github.com/bottle-dev/bottle/runner/state"
)

// EventExported reports where a session's end exported its workspace's
// changes; the message says how to look at them.
const EventExported EventType = "exported"

// keepWork exports a copy-mode session's workspace as it ends, before the
// cleanup decision can remove anything. It does nothing for a session an
// approval tore down (the workspace travels with the resume, and the
// session that finally ends exports it), nor once a stop has exported.
// Failing to export keeps the state dir, with the workspace snapshot and
// the reason: the work is never silently lost.
func (r *Runner) keepWork(ctx context.Context, dir *state.Dir, be backend.Backend, bottle string) error {
	if dir.IsPreserved() || exists(dir.Join(state.ExportFile)) || !exists(dir.Join(state.LaunchTreeFile)) {
		return nil
	}
	tree, err := loadTree(dir)
	if err != nil {
		return r.keepForLater(ctx, dir, be, bottle, "", err)
	}
	if tree.Keep == config.KeepNone {
		return nil
	}
	ws, err := r.changesOf(ctx, dir, be)
	if err != nil {
		return r.keepForLater(ctx, dir, be, bottle, tree.Target, err)
	}
	defer ws.Close()
	res, err := r.export(ctx, ws, ExportOptions{})
	if err != nil {
		return r.keepForLater(ctx, dir, be, bottle, tree.Target, err)
	}
	if err := state.WriteJSONAtomic(dir.Join(state.ExportFile), res, 0o600); err != nil {
		return r.keepForLater(ctx, dir, be, bottle, tree.Target, err)
	}
	_ = dir.Audit("export", map[string]string{"kind": res.Kind, "where": res.Where, "commit": res.Commit})
	r.emit(EventExported, dir.Identity, bottle, exportMessage(res))
	return nil
}

// exportMessage is the line a view prints for a session's export.
func exportMessage(res *ExportResult) string {
	switch {
	case res.Empty:
		return "the agent changed nothing in its workspace: nothing exported"
	case res.Kind == "branch":
		return fmt.Sprintf("%d changed files are on branch %s (commit %.12s on %.12s); look: %s", res.Changes, res.Where, res.Commit, res.Parent, res.Look)
	default:
		return fmt.Sprintf("%d changed files are in %s; look: %s", res.Changes, res.Where, res.Look)
	}
}

// keepForLater preserves the state dir of a session whose export failed,
// with the workspace copied out (when target is known and the bottle is
// still there) and the reason in the audit log.
func (r *Runner) keepForLater(ctx context.Context, dir *state.Dir, be backend.Backend, bottle, target string, cause error) error {
	kept := "its state is kept"
	if target != "" {
		if err := snapshot(ctx, be, backend.InstanceName(dir.Identity), target, dir, state.WorkspaceDir); err == nil {
			kept = "its workspace and state are kept"
		}
	}
	_ = dir.Audit("export_failed", map[string]string{"reason": cause.Error()})
	if err := dir.MarkPreserved(); err != nil {
		return errors.Join(fmt.Errorf("export the workspace of %s: %w", dir.Identity, cause), err)
	}
	return fmt.Errorf("export the workspace of %s: %w; %s in %s: fix the cause, then bottle export %s (or bottle resume %s)",
		dir.Identity, cause, kept, dir.Path, dir.Identity, dir.Identity)
}

func exists(p string) bool {
	_, err := os.Lstat(p)
	return !errors.Is(err, fs.ErrNotExist)
}
