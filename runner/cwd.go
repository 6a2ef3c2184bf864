package runner

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"

	"github.com/bottle-dev/bottle/backend"
	"github.com/bottle-dev/bottle/backend/buildctx"
	"github.com/bottle-dev/bottle/runner/state"
)

// cwdRepo is the repository of the images a cwd is copied into.
const cwdRepo = "bottle-cwd"

// cwdCache is the image a session's cwd (copy mode) is kept in between
// launches, so that an unchanged cwd is copied once: bottle-cwd:<key>, the
// agent image plus the folder at its target, where the key covers the
// folder's fingerprint (buildctx.Fingerprint: names, modes, owners, sizes,
// times) and the bottle. One image is kept per folder and bottle.
//
// A launch that finds the image starts from it and copies nothing. One that
// does not copies the folder into its own bottle as before, so it starts as
// soon, and makes the image beside the running agent (fill), holding the
// cache lock: launches of the same folder meanwhile wait for the image
// rather than copy the folder once more each.
type cwdCache struct {
	deriver backend.Deriver
	d       backend.Derivation
	key, fp string
	// lock is held from a miss until fill has made the image.
	lock *state.Lock
}

// lookupCwd resolves the session's cwd cache against image. It returns the
// image to start from: the cache's on a hit, image on a miss (the session
// then holds s.cwd, to fill). Backends that cannot derive images get image
// and no cache: the cwd is copied into each instance.
func (r *Runner) lookupCwd(ctx context.Context, s *session, image string, p backend.Progress) (string, error) {
	d, ok := s.be.(backend.Deriver)
	if !ok {
		return image, nil
	}
	c, user := s.bottle.Cwd, s.bottle.Agent.User
	fp, err := buildctx.Fingerprint(ctx, c.Path, c.Exclude)
	if err != nil {
		return "", withRange(fmt.Errorf("copy %s: %w", c.Path, err), c.PathRange)
	}
	// The family is one folder copied for one bottle of one home: what a
	// new fingerprint replaces.
	family := shortHash("bottle-cwd/1", r.Home.ID(), s.cfg.Path, s.bottle.Name, c.Path, c.Target, user)
	key := shortHash(family, fp)
	s.cwdFamily, s.cwdKey = family, key
	cache := &cwdCache{deriver: d, key: key, fp: fp, d: backend.Derivation{
		Base: image, Ref: cwdRepo + ":" + key,
		Labels:     r.cwdLabels(family, key, c.Path),
		Supersedes: map[string]string{backend.LabelHome: r.Home.ID(), backend.LabelCwd: family},
	}}
	lock, err := r.Home.TryLockCache(cwdLockKey(key))
	if errors.Is(err, state.ErrLocked) {
		// Another launch of this folder is making the image: wait for it.
		p.Progress("waiting for another launch to cache " + c.Path)
		lock, err = r.Home.LockCache(ctx, cwdLockKey(key))
	}
	if err != nil {
		return "", err
	}
	hit, err := d.Derived(ctx, image, cache.d.Ref)
	if err != nil || hit {
		_ = lock.Unlock()
		if err != nil {
			return "", fmt.Errorf("copy %s: %w", c.Path, err)
		}
		p.Progress(c.Path + " is unchanged since it was copied: starting from " + cache.d.Ref)
		s.cwdInImage, s.cwdFP = true, fp
		return cache.d.Ref, nil
	}
	cache.lock = lock
	s.cwd = cache
	p.Progress("copying " + c.Path + " (then caching it as " + cache.d.Ref + " for the next launches)")
	return image, nil
}

// fillCwd makes the session's cwd image, beside the agent, when the lookup
// missed; the returned wait blocks until that is over. Failing to cache is
// a warning: the bottle has its copy already.
func (r *Runner) fillCwd(ctx context.Context, s *session) (wait func()) {
	cache := s.cwd
	if cache == nil {
		return func() {}
	}
	s.cwd = nil
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer cache.lock.Unlock()
		err := r.fill(ctx, s, cache)
		switch {
		case err != nil && ctx.Err() == nil:
			r.emit(EventWarning, s.dir.Identity, s.bottle.Name, "the cwd was not cached, the next launch copies it again: "+err.Error())
		case err == nil:
			r.emit(EventProgress, s.dir.Identity, s.bottle.Name, "cached "+s.bottle.Cwd.Path+" as "+cache.d.Ref)
		}
	}()
	return func() { <-done }
}

// errCwdChanged means the folder changed while it was copied into its image.
var errCwdChanged = errors.New("the folder changed while it was copied")

// fill copies the cwd into a scratch instance and saves it as the cache's
// image, unless the folder changed meanwhile: the image must hold exactly
// what its key says.
func (r *Runner) fill(ctx context.Context, s *session, cache *cwdCache) error {
	c, user := s.bottle.Cwd, s.bottle.Agent.User
	_, _, err := cache.deriver.Derive(ctx, cache.d, func(ctx context.Context, instance string) error {
		o, err := resolveOwner(ctx, s.be, instance, user)
		if err != nil {
			return err
		}
		if err := copyDir(ctx, s.be, instance, c.Path, c.Target, c.Exclude, o); err != nil {
			return fmt.Errorf("copy %s into %s: %w", c.Path, cache.d.Ref, err)
		}
		fp, err := buildctx.Fingerprint(ctx, c.Path, c.Exclude)
		if err != nil {
			return err
		}
		if fp != cache.fp {
			return errCwdChanged
		}
		return nil
	})
	return err
}

// releaseCwd lets go of a cache lock a session took and did not fill (the
// launch failed before its bottle had the cwd).
func releaseCwd(s *session) {
	if s.cwd != nil {
		_ = s.cwd.lock.Unlock()
		s.cwd = nil
	}
}

// cwdLockKey is the cache lock held while the image of key is made.
func cwdLockKey(key string) string { return "cwd-" + key }

// shortHash is 16 hex digits of a SHA-256 of the fields, each
// length-prefixed so that no two lists of fields hash alike.
func shortHash(fields ...string) string {
	h := sha256.New()
	for _, f := range fields {
		h.Write([]byte(strconv.Itoa(len(f)) + ":" + f))
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// cwdLabels are the labels of a cwd image: the home's, its family and key,
// and the folder, by which gc tells a cache of a folder that is gone.
func (r *Runner) cwdLabels(family, key, path string) map[string]string {
	l := r.homeLabels()
	l[backend.LabelCwd], l[backend.LabelCwdKey], l[backend.LabelCwdPath] = family, key, path
	return l
}
