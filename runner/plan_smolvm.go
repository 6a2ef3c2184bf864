package runner

import (
	"github.com/bottle-dev/bottle/backend/egress"
	"github.com/bottle-dev/bottle/config"
)

// smolvmPlan is a smolmachines bottle's allowlist as smolvm create flags,
// each with what smolvm admits for it (shared/reference/smolvm-cli.md §4),
// so that plan shows the enforcement, not only the policy. The config has
// refused every entry smolvm would widen.
func smolvmPlan(b *config.Bottle) []string {
	rules := make([]egress.Rule, len(b.Allow))
	for i, a := range b.Allow {
		rules[i] = a.Rule
	}
	a, _ := egress.ToAddressAllowlist(rules)
	var out []string
	for _, h := range a.Hosts {
		out = append(out, "--allow-host "+h+" ("+h+" and every name under it, resolved at each start; every port)")
	}
	for _, c := range a.CIDRs {
		out = append(out, "--allow-cidr "+c+" (every port)")
	}
	if len(out) == 0 {
		return []string{"no network at all (the policy allows nothing)"}
	}
	if len(a.Hosts) == 0 {
		out = append(out, "name lookups are not filtered (smolvm filters DNS only for --allow-host)")
	}
	return out
}
