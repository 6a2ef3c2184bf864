package runner

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/bottle-dev/bottle/backend"
	"github.com/bottle-dev/bottle/backend/egress"
	"github.com/bottle-dev/bottle/runner/state"
)

// approveEgress grants an egress request in place: the hosts are recorded
// in the state dir (a resume applies them again), then handed to the
// running bottle's proxy, and the agent is answered. Nothing is torn down,
// preserved or rebuilt: the same bottle's next connection is allowed. The
// caller holds the identity's answer lock.
func (r *Runner) approveEgress(ctx context.Context, be backend.Backend, dir *state.Dir, md *state.Metadata, fr *state.Frozen, opts ApproveOptions) (*Approval, error) {
	identity, req := dir.Identity, fr.Request
	ee, ok := be.(backend.EgressEnforcer)
	if !ok || md.Egress == "" {
		return nil, fmt.Errorf("approve %s %s: the bottle has no egress policy to widen (its network is open, closed, or on a backend without a proxy): bottle deny %s %s answers the agent",
			identity, req.ID, identity, req.ID)
	}
	rules := make([]egress.Rule, 0, len(req.Egress))
	for _, e := range req.Egress {
		rule, err := egress.ParseRule(e)
		if err != nil {
			return nil, fmt.Errorf("approve %s %s: %w", identity, req.ID, err)
		}
		rules = append(rules, rule)
	}
	if opts.Show != nil {
		opts.Show(identity, fr)
	}
	if err := dir.AddEgressGrants(rules); err != nil {
		return nil, err
	}
	if err := ee.Grant(ctx, identity, rules); err != nil && !errors.Is(err, backend.ErrNotFound) {
		return nil, fmt.Errorf("approve %s %s: %w (the grant is recorded and applies at the next resume)", identity, req.ID, err)
	}
	_ = dir.Audit("approval", map[string]string{
		"request": req.ID, "digest": fr.Digest, "by": operator(), "reason": req.Reason, "egress": strings.Join(req.Egress, " "),
	})
	if err := dir.Answer(fr, state.AnswerApproved, "the proxy allows "+strings.Join(req.Egress, ", ")+" now"); err != nil {
		return nil, err
	}
	r.emit(EventApproved, identity, md.Bottle, req.ID)
	return &Approval{Identity: identity, Request: req, Digest: fr.Digest, Egress: req.Egress}, nil
}
