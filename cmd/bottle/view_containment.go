package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/bottle-dev/bottle/runner"
)

// renderContainment prints a bottle's egress policy and hardening in the
// plan's key = value style; secrets by name and hosts only.
func renderContainment(w io.Writer, b runner.BottlePlan) {
	kv := func(k, v string) { fmt.Fprintf(w, "      %-15s = %s\n", k, v) }
	if e := b.Egress; e != nil {
		switch e.Mode {
		case runner.EgressAllowlist:
			kv("egress", "allow only:")
			for _, a := range e.Allow {
				fmt.Fprintf(w, "        %s\n", a)
			}
			if len(e.Allow) == 0 {
				fmt.Fprintln(w, "        (nothing but the secrets' hosts)")
			}
			if e.Proxy != "" {
				kv("  proxy", e.Proxy)
			}
			for _, f := range e.Smolvm {
				kv("  smolvm", f)
			}
		case runner.EgressNone:
			kv("egress", "none (network = false)")
		default:
			kv("egress", "open (no egress block)")
		}
		for _, s := range e.Secrets {
			kv("  secret", fmt.Sprintf("%s -> %s (from the %s; the bottle sees a placeholder)", s.Name, strings.Join(s.Hosts, ", "), s.From))
		}
	}
	if s := b.Security; s != nil {
		fmt.Fprintln(w, "      security:")
		kv("  capabilities", strings.Join(s.Capabilities, ", "))
		kv("  no_new_privs", fmt.Sprint(s.NoNewPrivileges))
		pids := fmt.Sprint(s.PidsLimit)
		if s.PidsLimit == 0 {
			pids = "no limit"
		}
		kv("  pids_limit", pids)
		kv("  cpus", s.CPUs)
		kv("  memory", s.Memory)
		if len(s.Loosened) > 0 {
			kv("  loosened", strings.Join(s.Loosened, ", ")+" (security block)")
		}
	}
}
