package runner

import (
	"slices"
	"sort"

	"github.com/bottle-dev/bottle/backend"
	"github.com/bottle-dev/bottle/config"
)

// Security is the hardening a bottle runs with: the backend's defaults,
// loosened by its security block.
func Security(b *config.Bottle) backend.Security {
	s := backend.DefaultSecurity()
	sb := b.Security
	if sb == nil {
		return s
	}
	for _, c := range sb.Capabilities {
		if !slices.Contains(s.Capabilities, c) {
			s.Capabilities = append(s.Capabilities, c)
		}
	}
	if slices.Contains(s.Capabilities, "ALL") {
		s.Capabilities = []string{"ALL"}
	}
	sort.Strings(s.Capabilities)
	if sb.PidsLimit != nil {
		s.PidsLimit = *sb.PidsLimit
	}
	if sb.NoNewPrivileges != nil {
		s.NoNewPrivileges = *sb.NoNewPrivileges
	}
	return s
}
