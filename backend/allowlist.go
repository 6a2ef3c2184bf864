package backend

import "github.com/bottle-dev/bottle/backend/egress"

// AllowlistEnforcer is implemented by backends that enforce a bottle's
// allow rules themselves, by address, when they create it (smolmachines:
// smolvm's --allow-host and --allow-cidr), instead of through bottle's
// proxy. Their Create honours Spec.Egress's allow rules; their bottles get
// no proxy variables and no secrets, and no grant widens a running one.
type AllowlistEnforcer interface {
	// AddressAllowlist is what Create enforces for rules, or an error that
	// names every rule the backend would widen.
	AddressAllowlist(rules []egress.Rule) (egress.AddressAllowlist, error)
}
