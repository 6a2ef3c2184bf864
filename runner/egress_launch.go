package runner

import (
	"fmt"

	"github.com/bottle-dev/bottle/backend"
	"github.com/bottle-dev/bottle/backend/egress"
	"github.com/bottle-dev/bottle/config"
)

// hasPolicy reports whether a bottle's network is an allowlist: an egress
// block, or a secret (whose value only a proxy can add).
func hasPolicy(b *config.Bottle) bool {
	return b.Network && (b.Egress || len(b.Secrets) > 0)
}

// egressSpec works out the egress policy of a launch: it puts each
// secret's placeholder and the proxy variables into env, and returns the
// policy, real values included, for the backend to hand to the proxy. A
// backend that cannot enforce a policy is an error, never an open bottle.
func (r *Runner) egressSpec(s *session, env map[string]string) (*backend.EgressSpec, error) {
	b := s.bottle
	if !hasPolicy(b) {
		return nil, nil
	}
	rng := b.EgressRange
	if !b.Egress {
		rng = b.Secrets[0].DeclRange
	}
	if _, ok := s.be.(backend.EgressEnforcer); !ok {
		return nil, withRange(fmt.Errorf("the %s backend cannot enforce this bottle's egress policy: remove the egress and secret blocks or choose the docker backend", s.be.Name()), rng)
	}
	id := s.dir.Identity
	s.meta.Egress = "allowlist"
	p := egress.Policy{Identity: id}
	for _, a := range b.Allow {
		p.Allow = append(p.Allow, a.Rule)
	}
	// Hosts approved live (egress requests) stay granted on a resume.
	grants, err := s.dir.EgressGrants()
	if err != nil {
		return nil, err
	}
	p.Allow = append(p.Allow, grants...)
	for _, sec := range b.Secrets {
		if sec.Value() == "" {
			return nil, withRange(fmt.Errorf("secret %s is empty: its value must be set on the host (is the variable env() reads set?)", sec.Name), sec.ValueRange)
		}
		ph, err := egress.NewPlaceholder(id, sec.Name)
		if err != nil {
			return nil, err
		}
		p.Secrets = append(p.Secrets, egress.Secret{Name: sec.Name, Placeholder: ph, Value: sec.Value(), Hosts: sec.Hosts})
		env[sec.Name] = ph
	}
	for k, v := range backend.ProxyEnv(id) {
		env[k] = v
	}
	return &backend.EgressSpec{Policy: p}, nil
}

// resolveEgress works out the launch's egress policy before its image, so
// that the backend can start the proxy while the image is resolved
// (prepareNetwork). Its variables (placeholders, proxy) go into the
// bottle's environment after the agent's own (prepare).
func (r *Runner) resolveEgress(s *session) error {
	env := map[string]string{}
	eg, err := r.networkSpec(s, env)
	if err != nil {
		return err
	}
	s.egress, s.egressEnv = eg, env
	return nil
}
