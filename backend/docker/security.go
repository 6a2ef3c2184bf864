package docker

import (
	"slices"

	"github.com/docker/docker/api/types/container"

	"github.com/bottle-dev/bottle/backend"
)

// harden applies a bottle's hardening to its host config: every
// capability dropped but the kept set, no new privileges, a pids limit.
func harden(host *container.HostConfig, s backend.Security) {
	switch {
	case slices.Contains(s.Capabilities, "ALL"):
		host.CapAdd = []string{"ALL"}
	case s.Capabilities != nil:
		host.CapDrop = []string{"ALL"}
		host.CapAdd = slices.Clone(s.Capabilities)
	}
	if s.NoNewPrivileges {
		host.SecurityOpt = append(host.SecurityOpt, "no-new-privileges:true")
	}
	if s.PidsLimit > 0 {
		n := s.PidsLimit
		host.Resources.PidsLimit = &n
	}
}
