package runner

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os/user"
	"strings"

	"github.com/bottle-dev/bottle/backend"
	"github.com/bottle-dev/bottle/runner/state"
)

// PendingRequest is a capability request waiting for the operator, as
// bottle froze it the first time it read it.
type PendingRequest struct {
	Identity string
	Bottle   string
	Request  *state.Request
	// Digest names the frozen request: approve --digest checks it.
	Digest string
}

// intake takes in the queue of dir (state.Dir.Intake) under its answer
// lock. While an answer is being written it only reads what is frozen
// already, so that a slow approval never stalls a listing. A queue with
// nothing new costs no lock and no Intake (state.Dir.PendingIfQuiet).
func (r *Runner) intake(dir *state.Dir) ([]*state.Frozen, []state.Rejection, error) {
	if p, ok, err := dir.PendingIfQuiet(); err == nil && ok {
		return p, nil, nil
	}
	lock, err := r.Home.TryLockAnswer(dir.Identity)
	if errors.Is(err, state.ErrLocked) {
		p, err := dir.PendingRequests()
		return p, nil, err
	}
	if err != nil {
		return nil, nil, err
	}
	defer lock.Unlock()
	return dir.Intake()
}

// pick returns the frozen request id names, or the only pending one when id
// is "". The caller holds the answer lock.
func pick(dir *state.Dir, id string) (*state.Frozen, error) {
	pending, _, err := dir.Intake()
	if err != nil {
		return nil, err
	}
	if id != "" {
		return dir.PendingRequest(id)
	}
	switch len(pending) {
	case 0:
		return nil, fmt.Errorf("%s has no pending requests (see bottle requests)", dir.Identity)
	case 1:
		return pending[0], nil
	}
	ids := make([]string, len(pending))
	for i, p := range pending {
		ids[i] = p.Request.ID
	}
	return nil, fmt.Errorf("%s has %d pending requests (%s): name the one to answer", dir.Identity, len(pending), strings.Join(ids, ", "))
}

// ApproveOptions say what the operator saw.
type ApproveOptions struct {
	// Digest, when set, is the digest of the request the operator saw
	// (bottle requests shows it): Approve refuses any other.
	Digest string
	// Show is told the frozen request just before anything is built from
	// it, so the operator reads the exact lines.
	Show func(identity string, f *state.Frozen)
}

// Approval is what Approve did.
type Approval struct {
	Identity   string
	Request    *state.Request
	Digest     string
	Dockerfile string // path of the per-bottle Dockerfile
	// WatchRunning means a bottle watch will resume the bottle by itself.
	WatchRunning bool
	// Egress is set for an egress request: the hosts granted in place
	// (Dockerfile is then empty).
	Egress []string
}

// Approve grants a capability request as one transaction (approval.go):
// it records the decision with the frozen lines, stops the bottle,
// snapshots its transcript (and workspace in copy mode), marks the state
// preserved, answers the agent, tears the bottle down, and last writes the
// per-bottle Dockerfile, whose appearance is what bottle watch resumes on.
// The attached session, if any, then ends and keeps the state. An approval
// an earlier process left unfinished is finished first; when it was this
// very request, that is the approval returned.
func (r *Runner) Approve(ctx context.Context, identity, requestID string, opts ApproveOptions) (*Approval, error) {
	dir, err := r.Home.Open(identity)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("approve %s: the bottle is gone (its session ended and removed its state): nothing was approved: %w", identity, err)
	}
	if err != nil {
		return nil, err
	}
	// One answer at a time, and never beside a cleanup decision: see the
	// invariant in approval.go.
	lock, err := r.Home.LockAnswer(ctx, identity)
	if err != nil {
		return nil, err
	}
	defer lock.Unlock()
	if !dir.Exists() {
		// The session's cleanup decision went first.
		return nil, fmt.Errorf("approve %s: the bottle is gone (its session ended and removed its state): nothing was approved", identity)
	}
	ap, err := r.recoverApproval(ctx, dir)
	switch {
	case err != nil && !errors.Is(err, errApprovalRolledBack):
		return nil, err
	case ap != nil && (requestID == "" || requestID == ap.Request.ID):
		if opts.Show != nil {
			opts.Show(identity, &state.Frozen{Request: ap.Request, Digest: ap.Digest})
		}
		return ap, nil
	}
	md, err := dir.ReadMetadata()
	if err != nil {
		return nil, err
	}
	if ap := r.approvedAlready(dir, requestID); ap != nil {
		return ap, nil
	}
	fr, err := pick(dir, requestID)
	if err != nil {
		return nil, err
	}
	req := fr.Request
	if opts.Digest != "" {
		want, err := state.NormalizeDigest(opts.Digest)
		if err != nil {
			return nil, err
		}
		if want != fr.Digest {
			return nil, fmt.Errorf("approve %s %s: the request is %s, not the %s you were shown: nothing was approved (bottle requests shows it again)", identity, req.ID, fr.Digest, want)
		}
	}
	be, err := r.backend(md.BackendName())
	if err != nil {
		return nil, err
	}
	if req.Kind == state.RequestKindEgress {
		if err := refuseLiveGrant(be, identity, req.ID, req.Egress); err != nil {
			return nil, err
		}
		return r.approveEgress(ctx, be, dir, md, fr, opts) // egress.go: in place
	}
	if _, err := be.Inspect(ctx, backend.InstanceName(identity)); err != nil {
		return nil, fmt.Errorf("approve %s: the bottle is gone, so nothing can be carried over (bottle deny %s %s answers the agent): %w", identity, identity, req.ID, err)
	}
	cur, err := dir.ReadDockerfile()
	if err != nil {
		return nil, err
	}
	if cur == "" && firstBase(md) == "" {
		return nil, fmt.Errorf("approve %s: metadata records no image to build on", identity)
	}
	if opts.Show != nil {
		opts.Show(identity, fr)
	}
	in := newIntent(fr, md, cur)
	if err := r.step(identity, "intent"); err != nil {
		return nil, fmt.Errorf("approve %s %s: %w", identity, req.ID, err)
	}
	if err := dir.WriteIntent(in); err != nil {
		return nil, err
	}
	_ = dir.Audit("approval", map[string]string{"request": req.ID, "digest": fr.Digest, "by": in.By, "reason": req.Reason, "lines": linesOf(req)})
	return r.finishApproval(ctx, dir, md, in)
}

// approvedAlready returns the finished approval of request id, nil when
// it is not approved: a retry of an approval that another process (the
// session's cleanup decision, a watch) finished is a success, not an error.
func (r *Runner) approvedAlready(dir *state.Dir, id string) *Approval {
	if id == "" || dir.HasIntent() || !dir.HasDockerfile() {
		return nil
	}
	f, err := dir.FrozenRequest(id)
	if err != nil || f.Status != state.AnswerApproved {
		return nil
	}
	return &Approval{Identity: dir.Identity, Request: f.Request, Digest: f.Digest, Dockerfile: dir.DockerfilePath(), WatchRunning: r.Home.WatchRunning()}
}

// firstBase is the image the bottle ran on before any approval: an image
// agent's reference, or the content-addressed tag of its built Dockerfile.
func firstBase(md *state.Metadata) string {
	if md.BaseImage != "" {
		return md.BaseImage
	}
	return md.Image
}

// nextDockerfile is the bottle's current Dockerfile cur plus the approved
// lines. The first approval (cur empty) starts FROM base, so the per-bottle
// Dockerfile builds without the agent's build context.
func nextDockerfile(identity, cur, base string, req *state.Request) string {
	if cur == "" {
		cur = "# Per-bottle Dockerfile of " + identity + ", written by bottle approve.\nFROM " + base + "\n"
	}
	var b strings.Builder
	b.WriteString(strings.TrimRight(cur, "\n"))
	// The reason was checked for control characters, so it stays on its
	// comment line.
	fmt.Fprintf(&b, "\n\n# %s: %s\n", req.ID, req.Reason)
	for _, l := range req.Dockerfile {
		b.WriteString(strings.TrimSpace(l))
		b.WriteByte('\n')
	}
	return b.String()
}

// Deny answers a request "denied"; the bottle keeps running.
func (r *Runner) Deny(ctx context.Context, identity, requestID, reason string) (*state.Request, error) {
	dir, err := r.Home.Open(identity)
	if err != nil {
		return nil, err
	}
	lock, err := r.Home.LockAnswer(ctx, identity)
	if err != nil {
		return nil, err
	}
	defer lock.Unlock()
	if !dir.Exists() {
		return nil, fmt.Errorf("deny %s: the bottle is gone (its session ended and removed its state)", identity)
	}
	// An approval left unfinished goes first: its request may be this one.
	if _, err := r.recoverApproval(ctx, dir); err != nil && !errors.Is(err, errApprovalRolledBack) {
		return nil, err
	}
	fr, err := pick(dir, requestID)
	if err != nil {
		return nil, err
	}
	if reason == "" {
		reason = "denied by the operator"
	}
	if err := dir.Answer(fr, state.AnswerDenied, reason); err != nil {
		return nil, err
	}
	_ = dir.Audit("denial", map[string]string{"request": fr.Request.ID, "digest": fr.Digest, "by": operator(), "reason": reason})
	r.emit(EventDenied, identity, "", fr.Request.ID)
	return fr.Request, nil
}

func operator() string {
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return "unknown"
}

// ApprovalStatus is the one-line status shown after an approval, in the CLI
// and the dashboard alike: it always says how the bottle comes back.
func ApprovalStatus(ap *Approval) string {
	if ap.Egress != nil {
		return fmt.Sprintf("approved %s for %s: its proxy allows %s now; the bottle keeps running", ap.Request.ID, ap.Identity, strings.Join(ap.Egress, ", "))
	}
	if ap.WatchRunning {
		return fmt.Sprintf("approved %s for %s: the running bottle watch will resume it (or: bottle resume %s)", ap.Request.ID, ap.Identity, ap.Identity)
	}
	return fmt.Sprintf("approved %s for %s: resume with bottle resume %s", ap.Request.ID, ap.Identity, ap.Identity)
}
