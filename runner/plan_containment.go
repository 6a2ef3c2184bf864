package runner

import (
	"fmt"
	"strings"

	"github.com/bottle-dev/bottle/backend"
	"github.com/bottle-dev/bottle/backend/egress"
	"github.com/bottle-dev/bottle/config"
)

// Egress modes of a plan.
const (
	EgressOpen      = "open"      // network = true, no egress block
	EgressAllowlist = "allowlist" // an egress block: only what it allows
	EgressNone      = "none"      // network = false
)

// EgressPlan is a bottle's network policy as plan shows it: secrets by
// name and hosts only, never their values.
type EgressPlan struct {
	Mode    string       `json:"mode"`
	Allow   []string     `json:"allow"`
	Secrets []SecretPlan `json:"secrets"`
	// Proxy is the container that enforces the allowlist (docker).
	Proxy string `json:"proxy,omitempty"`
	// Smolvm is how smolvm enforces the allowlist (smolmachines): its
	// create flags, each with what it admits.
	Smolvm []string `json:"smolvm,omitempty"`
}

// SecretPlan is one secret: the variable the agent sees (holding a
// placeholder) and where the proxy sends the real value.
type SecretPlan struct {
	Name  string   `json:"name"`
	Hosts []string `json:"hosts"`
	From  string   `json:"from"` // "agent" or "bottle"
}

// SecurityPlan is the hardening a bottle runs with, defaults included, and
// the resources left unlimited.
type SecurityPlan struct {
	Capabilities    []string `json:"capabilities"`
	NoNewPrivileges bool     `json:"no_new_privileges"`
	// PidsLimit 0 means no limit.
	PidsLimit int64 `json:"pids_limit"`
	// Loosened lists what the bottle's security block changed.
	Loosened []string `json:"loosened"`
	// CPUs and Memory state the resources, "no limit" when unset.
	CPUs   string `json:"cpus"`
	Memory string `json:"memory"`
}

// planContainment fills the egress and security parts of a bottle's plan.
func planContainment(b *config.Bottle, bp *BottlePlan) {
	pattern := strings.TrimPrefix(bp.Container, "bottle-")
	ep := &EgressPlan{Mode: EgressOpen, Allow: []string{}, Secrets: []SecretPlan{}}
	switch {
	case !b.Network:
		ep.Mode = EgressNone
	case b.Egress || len(b.Secrets) > 0:
		ep.Mode = EgressAllowlist
		if b.Backend == backend.Docker {
			ep.Proxy = backend.ProxyName(pattern)
			bp.Network = fmt.Sprintf("bottle-%s (internal: out only through %s)", pattern, ep.Proxy)
			for k, v := range backend.ProxyEnv(pattern) {
				bp.Env = append(bp.Env, EnvPlan{Name: k, Value: v})
			}
		}
	}
	for _, a := range b.Allow {
		ep.Allow = append(ep.Allow, allowString(a.Rule.String(), a.Port))
	}
	for _, s := range b.Secrets {
		sp := SecretPlan{Name: s.Name, From: "bottle"}
		if s.Agent {
			sp.From = "agent"
		}
		for _, h := range s.Hosts {
			sp.Hosts = append(sp.Hosts, h.String())
		}
		ep.Secrets = append(ep.Secrets, sp)
		bp.Env = append(bp.Env, EnvPlan{Name: s.Name, Value: "(placeholder bottle-secret-" + pattern + "-" + s.Name + "-…)"})
	}
	if ep.Mode == EgressAllowlist && b.Backend == backend.Smolmachines {
		ep.Smolvm = smolvmPlan(b)
		bp.Network = "smolvm's own allowlist, set at create (no proxy)"
	}
	bp.Egress = ep
	if b.Backend != backend.Docker {
		return
	}
	sec := Security(b)
	sp := &SecurityPlan{
		Capabilities: sec.Capabilities, NoNewPrivileges: sec.NoNewPrivileges, PidsLimit: sec.PidsLimit,
		Loosened: []string{}, CPUs: "no limit", Memory: "no limit",
	}
	if s := b.Security; s != nil {
		for _, c := range s.Capabilities {
			sp.Loosened = append(sp.Loosened, "+"+c)
		}
		if s.PidsLimit != nil {
			sp.Loosened = append(sp.Loosened, fmt.Sprintf("pids_limit = %d", *s.PidsLimit))
		}
		if s.NoNewPrivileges != nil && !*s.NoNewPrivileges {
			sp.Loosened = append(sp.Loosened, "no_new_privileges = false")
		}
	}
	if b.CPUs > 0 {
		sp.CPUs = fmt.Sprint(b.CPUs)
	}
	if b.MemoryBytes > 0 {
		sp.Memory = b.Memory
	}
	bp.Security = sp
}

// allowString is an allow entry with the ports it admits spelled out.
func allowString(entry string, port int) string {
	switch port {
	case 0:
		return entry + " (ports 80, 443)"
	case egress.AnyPort:
		return entry + " (every port)"
	}
	return entry
}
