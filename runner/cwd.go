package runner

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"

	"github.com/bottle-dev/bottle/backend"
	"github.com/bottle-dev/bottle/backend/buildctx"
)

// cwdRepo is the repository of the images a cwd is copied into.
const cwdRepo = "bottle-cwd"

// cwdImage returns an image of image plus the session's cwd (copy mode) at
// its target, so that an unchanged cwd is copied once: the image is tagged
// by the folder's fingerprint (buildctx.Fingerprint: names, modes, owners,
// sizes, times), derived on the first launch and reused by every launch
// after it until the folder or the agent image changes. One image is kept
// per folder and bottle; the one it replaces is removed. ok is false when
// the backend cannot derive images: the caller then copies the cwd into
// each instance.
func (r *Runner) cwdImage(ctx context.Context, s *session, image string, p backend.Progress) (ref string, ok bool, err error) {
	d, can := s.be.(backend.Deriver)
	if !can {
		return "", false, nil
	}
	c, user := s.bottle.Cwd, s.bottle.Agent.User
	fp, err := buildctx.Fingerprint(ctx, c.Path, c.Exclude)
	if err != nil {
		return "", false, withRange(fmt.Errorf("copy %s: %w", c.Path, err), c.PathRange)
	}
	// The family is one folder copied for one bottle of one home: what a
	// new fingerprint replaces.
	family := shortHash("bottle-cwd/1", r.Home.ID(), s.cfg.Path, s.bottle.Name, c.Path, c.Target, user)
	key := shortHash(family, fp)
	ref = cwdRepo + ":" + key
	// Bottles launched together from one folder copy it once: the first
	// fills the image while the others wait, then find it.
	lock, err := r.Home.LockCache(ctx, "cwd-"+key)
	if err != nil {
		return "", false, err
	}
	defer lock.Unlock()
	got, reused, err := d.Derive(ctx, backend.Derivation{
		Base: image, Ref: ref,
		Labels:     map[string]string{backend.LabelHome: r.Home.ID(), backend.LabelCwd: family},
		Supersedes: map[string]string{backend.LabelHome: r.Home.ID(), backend.LabelCwd: family},
	}, func(ctx context.Context, instance string) error {
		p.Progress("copying " + c.Path + " into " + ref + " (reused while the folder is unchanged)")
		o, err := resolveOwner(ctx, s.be, instance, user)
		if err != nil {
			return withRange(err, s.bottle.Agent.DeclRange)
		}
		if err := copyDir(ctx, s.be, instance, c.Path, c.Target, c.Exclude, o); err != nil {
			return fmt.Errorf("copy %s into %s: %w", c.Path, ref, err)
		}
		return nil
	})
	if err != nil {
		return "", false, fmt.Errorf("copy %s: %w", c.Path, err)
	}
	if reused {
		p.Progress(c.Path + " is unchanged since it was copied: starting from " + ref)
	}
	return got, true, nil
}

// shortHash is 16 hex digits of a SHA-256 of the fields, each
// length-prefixed so that no two lists of fields hash alike.
func shortHash(fields ...string) string {
	h := sha256.New()
	for _, f := range fields {
		h.Write([]byte(strconv.Itoa(len(f)) + ":" + f))
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}
