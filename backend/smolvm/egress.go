package smolvm

import (
	"errors"
	"fmt"

	"github.com/bottle-dev/bottle/backend"
	"github.com/bottle-dev/bottle/backend/egress"
)

var _ backend.AllowlistEnforcer = (*Backend)(nil)

// AddressAllowlist maps rules onto smolvm's own allowlist (reference §4):
// "name:*" with "*.name:*" is one --allow-host name, "ip:*" one
// --allow-cidr ip/32 (or /128). Any other rule would be widened (smolvm
// filters by address: every port, and the names under an allowed name),
// so it is an error naming the rule, never a looser machine.
func (b *Backend) AddressAllowlist(rules []egress.Rule) (egress.AddressAllowlist, error) {
	return addressAllowlist(rules)
}

func addressAllowlist(rules []egress.Rule) (egress.AddressAllowlist, error) {
	a, issues := egress.ToAddressAllowlist(rules)
	var errs []error
	for _, is := range issues {
		errs = append(errs, fmt.Errorf("egress entry %q: %s", rules[is.Index].String(), is.String()))
	}
	if len(errs) > 0 {
		return egress.AddressAllowlist{}, fmt.Errorf("smolvm backend cannot enforce this egress policy as written: %w", errors.Join(errs...))
	}
	return a, nil
}

// networkArgs are create's network flags: none (offline) without network;
// --net for an open network; with a policy, its allowlist, which implies
// network in smolvm, or nothing at all when it allows nothing. A secret is
// refused: smolvm's --secret-env would put its value into the guest.
func networkArgs(spec backend.Spec) ([]string, error) {
	if !spec.Network {
		return nil, nil
	}
	if spec.Egress == nil {
		return []string{"--net"}, nil
	}
	if n := len(spec.Egress.Policy.Secrets); n > 0 {
		return nil, fmt.Errorf("smolvm backend cannot keep secret %s out of the machine (its --secret-env puts the value into the guest): use the docker backend",
			spec.Egress.Policy.Secrets[0].Name)
	}
	a, err := addressAllowlist(spec.Egress.Policy.Allow)
	if err != nil {
		return nil, err
	}
	return a.Flags(), nil
}
