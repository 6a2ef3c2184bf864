package runner

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/bottle-dev/bottle/backend"
)

// approvalWait bounds how long a session's end waits for an approval.
const approvalWait = 10 * time.Minute

// decide is the cleanup decision of an attached session that has ended:
// export a copied workspace's work, tear the bottle down, and remove the
// state dir unless an approval preserved it. The session holds the owner
// lock; decide also takes the answer lock, so that it never runs beside an
// approval (approval.go): an approval in flight is waited for, and one a
// killed process left behind is finished first. When that cannot be done
// everything is kept (instance included, for its snapshot), and the error
// says how to go on.
func (r *Runner) decide(ctx context.Context, s *session, res *LaunchResult, started, prepared bool) error {
	id := s.dir.Identity
	// An approval in flight snapshots and builds: it gets longer than a
	// teardown to end, and so does finishing one left behind.
	actx, acancel := context.WithTimeout(context.WithoutCancel(ctx), approvalWait)
	defer acancel()
	lock, err := r.Home.LockAnswer(actx, id)
	if err != nil {
		res.Preserved = true
		return fmt.Errorf("%s is kept as it is (an approval holds it; bottle stop %s ends it): %w", id, id, err)
	}
	defer lock.Unlock()
	if _, err := r.recoverApproval(actx, s.dir); err != nil && !errors.Is(err, errApprovalRolledBack) {
		res.Preserved = true
		return err
	}
	cctx, cancel := cleanupContext(ctx)
	defer cancel()
	var errs []error
	if s.ran {
		// Before anything is removed: a copied workspace's work comes
		// out first (export.go).
		_ = s.tree.wait()
		errs = append(errs, r.keepWork(cctx, s.dir, s.be, s.bottle.Name))
	}
	if started || prepared {
		if terr := removeInstance(cctx, s.be, s.dir, backend.InstanceName(id)); terr != nil {
			errs = append(errs, fmt.Errorf("tear down %s: %w", id, terr))
		} else if started {
			_ = s.dir.Audit("teardown", nil)
			r.emit(EventTeardown, id, s.bottle.Name, "")
		}
	}
	if s.dir.IsPreserved() {
		res.Preserved = true
		r.emit(EventPreserved, id, s.bottle.Name, "bottle resume "+id)
		return errors.Join(errs...)
	}
	// The images go first: whoever waits for the state dir to go (bottle
	// destroy, a script) then finds nothing of the identity. Should the
	// removal of the dir fail, a resume rebuilds them.
	if s.perBottle {
		dropImages(cctx, s.be, id)
	}
	if rerr := s.dir.Remove(); rerr != nil {
		return errors.Join(append(errs, rerr)...)
	}
	r.emit(EventCleaned, id, s.bottle.Name, "")
	return errors.Join(errs...)
}
