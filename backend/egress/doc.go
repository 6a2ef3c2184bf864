// Package egress is a bottle's network policy, shared by the configuration
// (which parses it), the runner (which records grants) and the proxy that
// enforces it outside the bottle: allow rules, secrets and the matching of
// a destination against them.
//
// It imports only the standard library, so that config (hcl and cty only)
// and the backends (no HCL) can both use it.
package egress
