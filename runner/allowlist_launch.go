package runner

import (
	"fmt"
	"strings"

	"github.com/bottle-dev/bottle/backend"
	"github.com/bottle-dev/bottle/backend/egress"
)

// networkSpec is the egress policy of a launch. A backend that enforces
// the allowlist itself (backend.AllowlistEnforcer) gets the allow rules
// only: no proxy variables, no placeholders. The config refuses what it
// would widen at plan; the backend's check here stops the launch before
// anything is created should a policy reach it anyway. Every other backend
// goes through the proxy's egressSpec.
func (r *Runner) networkSpec(s *session, env map[string]string) (*backend.EgressSpec, error) {
	ae, ok := s.be.(backend.AllowlistEnforcer)
	b := s.bottle
	if !ok || !hasPolicy(b) {
		return r.egressSpec(s, env)
	}
	if len(b.Secrets) > 0 {
		return nil, withRange(fmt.Errorf("the %s backend cannot keep secret %s out of the bottle: remove the secret block or choose the docker backend",
			s.be.Name(), b.Secrets[0].Name), b.Secrets[0].DeclRange)
	}
	p := egress.Policy{Identity: s.dir.Identity}
	for _, a := range b.Allow {
		p.Allow = append(p.Allow, a.Rule)
	}
	if _, err := ae.AddressAllowlist(p.Allow); err != nil {
		return nil, withRange(err, b.EgressRange)
	}
	s.meta.Egress = "allowlist"
	return &backend.EgressSpec{Policy: p}, nil
}

// refuseLiveGrant answers an approval of an egress request on a backend
// whose allowlist is fixed when the bottle is created: nothing is granted
// or answered, and the error says what to do instead.
func refuseLiveGrant(be backend.Backend, identity, id string, hosts []string) error {
	if _, ok := be.(backend.AllowlistEnforcer); !ok {
		return nil
	}
	return fmt.Errorf("approve %s %s: the %s backend cannot widen a running bottle's egress allowlist (smolvm sets --allow-host and --allow-cidr when it creates the machine, "+
		"and no later command changes them), so nothing was granted. Add %s to the bottle's egress block and launch it again, or answer the agent with bottle deny %s %s",
		identity, id, be.Name(), strings.Join(hosts, ", "), identity, id)
}
