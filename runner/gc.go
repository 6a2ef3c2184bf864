package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/bottle-dev/bottle/backend"
	"github.com/bottle-dev/bottle/runner/state"
)

// GC removes what no live bottle owns, on each named backend:
//   - labelled instances, networks and images whose identity has no state dir;
//   - bottles whose session died without cleaning up (kill -9): not
//     preserved, not detached and not owned by any process;
//   - detached bottles whose agent has exited (their session is over);
//   - lock files of identities with no state dir that no process holds.
//
// It returns a line per removed thing.
func (r *Runner) GC(ctx context.Context, backends []string) ([]string, error) {
	return r.GCWith(ctx, backends, GCOptions{})
}

// GCOptions change what GCWith does.
type GCOptions struct {
	// DryRun removes nothing: the lines say what would be removed.
	DryRun bool
	// Orphans also removes the bottles, networks and images of every
	// BOTTLE_HOME that no longer exists (no gc of theirs can run).
	Orphans bool
}

// GCWith is GC, plus the superseded images (supersededImages) and, with
// Orphans, what homes that are gone left.
func (r *Runner) GCWith(ctx context.Context, backends []string, opts GCOptions) ([]string, error) {
	dry := opts.DryRun
	var removed []string
	var errs []error
	// First finish the approvals killed processes left behind: their
	// bottles are then preserved, not leftovers.
	if ids, _, err := r.Home.Identities(); err == nil {
		for _, id := range ids {
			if dir, err := r.Home.Dir(id); err == nil {
				if err := r.recoverIdle(ctx, dir); err != nil {
					errs = append(errs, err)
				}
			}
		}
	}
	// Two backends can report one resource: smolmachines passes on the
	// per-bottle images its image source (the Docker engine) built.
	done := map[string]bool{}
	for _, name := range backends {
		be, err := r.backend(name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		got, err := r.gcBackend(ctx, be, dry, done)
		removed = append(removed, got...)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		}
		if opts.Orphans {
			got, err := r.gcOrphans(ctx, be, dry, done)
			removed = append(removed, got...)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", name, err))
			}
		}
		got, err = r.gcImages(ctx, be, dry, done)
		removed = append(removed, got...)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		}
	}
	got, err := r.gcStateDirs(ctx, dry)
	removed = append(removed, got...)
	if dry {
		return removed, errors.Join(append(errs, err)...)
	}
	// Last, so that the locks of the identities removed above go too.
	// Lock files are bookkeeping, not resources: not reported.
	_, lerr := r.Home.SweepLocks()
	return removed, errors.Join(append(errs, err, lerr)...)
}

func (r *Runner) gcBackend(ctx context.Context, be backend.Backend, dry bool, done map[string]bool) ([]string, error) {
	var removed []string
	// Only this BOTTLE_HOME's bottles: another home's have no state dir
	// here, yet they are not leftovers.
	insts, err := be.List(ctx, map[string]string{backend.LabelManaged: "true", backend.LabelHome: r.Home.ID()})
	if err != nil {
		return nil, err
	}
	var errs []error
	for _, inst := range insts {
		if !r.orphan(inst.Identity, inst.State) {
			continue
		}
		if inst.Identity == "" && inst.Labels[backend.LabelCwdKey] != "" {
			// The scratch container of a cwd image: leave it to the
			// launch that is filling it; one no launch holds is left over.
			lock, err := r.Home.TryLockCache(cwdLockKey(inst.Labels[backend.LabelCwdKey]))
			if err != nil {
				continue
			}
			_ = lock.Unlock()
		}
		if dry {
			removed = append(removed, fmt.Sprintf("%s %s (%s)", be.Name(), inst.Name, inst.Identity))
			continue
		}
		if err := removeInstance(ctx, be, r.stateOf(inst.Identity), inst.ID); err != nil {
			errs = append(errs, err)
			continue
		}
		removed = append(removed, fmt.Sprintf("%s %s (%s)", be.Name(), inst.Name, inst.Identity))
		r.removeOrphanState(inst.Identity)
	}
	res, err := leftovers(ctx, be)
	if err != nil {
		errs = append(errs, err)
		if res == nil {
			return removed, errors.Join(errs...)
		}
	}
	var orphans []backend.Resource
	for _, rs := range res {
		// Only what this home labelled: another home's (or an unlabelled)
		// network or image is not ours to judge.
		if rs.Labels[backend.LabelHome] != r.Home.ID() {
			continue
		}
		if d, err := r.Home.Dir(rs.Identity); err == nil && d.Exists() {
			continue
		}
		if done[rs.Kind+" "+rs.ID] {
			continue
		}
		orphans = append(orphans, rs)
	}
	if dry {
		for _, rs := range orphans {
			removed = append(removed, fmt.Sprintf("%s %s %s (%s)", be.Name(), rs.Kind, rs.Name, rs.Identity))
		}
		return removed, errors.Join(errs...)
	}
	gone, rerrs := removeResources(ctx, be, orphans)
	for _, rs := range gone {
		done[rs.Kind+" "+rs.ID] = true
		removed = append(removed, fmt.Sprintf("%s %s %s (%s)", be.Name(), rs.Kind, rs.Name, rs.Identity))
	}
	return removed, errors.Join(append(errs, rerrs...)...)
}

// leftovers is what gc judges of a backend: its Leftovers and, for a
// backend that pushes to a registry, the per-bottle images there. A
// registry that cannot be listed, whole or in part, does not keep gc from
// the rest: its error comes back with everything that was listed.
func leftovers(ctx context.Context, be backend.Backend) ([]backend.Resource, error) {
	res, err := be.Leftovers(ctx)
	if err != nil {
		return nil, err
	}
	if rl, ok := be.(backend.RemoteImageLister); ok {
		remote, err := rl.RemoteLeftovers(ctx)
		return append(res, remote...), err
	}
	return res, nil
}

// orphan reports whether the instance of identity belongs to nobody.
func (r *Runner) orphan(identity string, st backend.State) bool {
	dir, err := r.Home.Dir(identity)
	if err != nil || !dir.Exists() {
		return true
	}
	// An approval in flight or left behind keeps the bottle: its
	// snapshot may still have to come out of the instance (approval.go).
	if dir.IsPreserved() || dir.HasIntent() {
		return false
	}
	md, err := dir.ReadMetadata()
	if err != nil {
		return false // a corrupt dir is the operator's call (bottle destroy)
	}
	if md.Detached {
		return st != backend.StateRunning && st != backend.StateCreated
	}
	lock, err := r.Home.TryLockOwner(identity)
	if err != nil {
		return false // owned: a live session
	}
	_ = lock.Unlock()
	return true
}

// stateOf returns the state dir of identity, nil when it has none.
func (r *Runner) stateOf(identity string) *state.Dir {
	dir, err := r.Home.Dir(identity)
	if err != nil || !dir.Exists() {
		return nil
	}
	return dir
}

func (r *Runner) removeOrphanState(identity string) {
	dir, err := r.Home.Dir(identity)
	if err != nil || !dir.Exists() || dir.IsPreserved() || dir.HasIntent() {
		return
	}
	lock, err := r.Home.TryLockOwner(identity)
	if err != nil {
		return
	}
	defer lock.Unlock()
	_ = dir.Remove()
}

// gcStateDirs removes state dirs left by sessions that died before their
// instance existed: unowned, not preserved, not detached, no instance.
func (r *Runner) gcStateDirs(ctx context.Context, dry bool) ([]string, error) {
	ids, _, err := r.Home.Identities()
	if err != nil {
		return nil, err
	}
	var removed []string
	for _, id := range ids {
		dir, _ := r.Home.Dir(id)
		md, err := dir.ReadMetadata()
		if dir.IsPreserved() || dir.HasIntent() || (err == nil && md.Detached) {
			continue
		}
		name := backend.Docker
		if err == nil {
			name = md.BackendName()
		} else if !errors.Is(err, os.ErrNotExist) {
			continue
		}
		be, err := r.backend(name)
		if err != nil {
			continue
		}
		if _, err := be.Inspect(ctx, backend.InstanceName(id)); !errors.Is(err, backend.ErrNotFound) {
			continue
		}
		lock, err := r.Home.TryLockOwner(id)
		if err != nil {
			continue
		}
		if dry {
			removed = append(removed, "state "+id)
		} else if err := dir.Remove(); err == nil {
			removed = append(removed, "state "+id)
		}
		_ = lock.Unlock()
	}
	return removed, nil
}

// Logs writes what identity's agent printed to w; with follow it streams
// until the agent ends or ctx is done. Bottles resumed by watch also keep
// their output in the state dir's agent.log, which is the fallback once the
// instance is gone.
func (r *Runner) Logs(ctx context.Context, identity string, follow bool, w io.Writer) error {
	dir, err := r.Home.Open(identity)
	if err != nil {
		return err
	}
	be, err := r.backendOf(dir)
	if err != nil {
		return err
	}
	err = be.Logs(ctx, backend.InstanceName(identity), follow, w)
	if !errors.Is(err, backend.ErrNotFound) {
		return err
	}
	if ferr := dir.ReadAgentLog(w); ferr != nil {
		if errors.Is(ferr, fs.ErrNotExist) {
			return fmt.Errorf("logs of %s: the bottle is gone and kept no log: %w", identity, err)
		}
		return ferr
	}
	return nil
}
