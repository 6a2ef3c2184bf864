package config

import (
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/bottle-dev/bottle/backend/egress"
)

// validateSmolmachinesEgress reports every part of a bottle's policy that
// smolvm's own allowlist (--allow-host, --allow-cidr: shared/reference/
// smolvm-cli.md §4) would enforce more loosely than written, each at its
// entry or block, so a smolmachines bottle is never silently weaker than
// its bottle.hcl. smolvm filters by address: an entry must say so ("host:*"
// with "*.host:*", "ip:*"). A secret cannot be kept out of the guest:
// smolvm's --secret-env puts the value into the guest's environment.
func validateSmolmachinesEgress(b *Bottle) hcl.Diagnostics {
	var diags hcl.Diagnostics
	rules := make([]egress.Rule, len(b.Allow))
	for i, a := range b.Allow {
		rules[i] = a.Rule
	}
	_, issues := egress.ToAddressAllowlist(rules)
	for _, is := range issues {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Egress entry not enforceable on smolmachines",
			Detail: fmt.Sprintf("Bottle %q runs on the %s backend, where %s. To accept what smolvm allows, write %s in place of it; or use backend = %q, whose egress proxy enforces the entry as written.",
				b.Name, BackendSmolmachines, is.Problem, quoted(is.Write), BackendDocker),
			Subject: b.Allow[is.Index].Range.Ptr(),
		})
	}
	for _, s := range b.Secrets {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Secret not supported on smolmachines",
			Detail: fmt.Sprintf("Bottle %q runs on the %s backend, which cannot keep secret %s out of the bottle: smolvm has no proxy to swap a placeholder, "+
				"and its --secret-env puts the real value into the guest's environment. Use backend = %q, or remove the secret block.",
				b.Name, BackendSmolmachines, s.Name, BackendDocker),
			Subject: s.DeclRange.Ptr(),
		})
	}
	return diags
}

// quoted lists strings as HCL string literals, comma-separated.
func quoted(list []string) string {
	q := make([]string, len(list))
	for i, s := range list {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
}
