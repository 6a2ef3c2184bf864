package config

import (
	"fmt"
	"math/big"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

var securitySchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "capabilities"},
		{Name: "pids_limit"},
		{Name: "no_new_privileges"},
	},
}

// Security is a bottle's security block: what it loosens of the hardened
// defaults (the backend states them; plan shows both).
type Security struct {
	// Capabilities are added to the default set: upper-case names without
	// the CAP_ prefix, or "ALL".
	Capabilities []string
	// PidsLimit replaces the default limit on processes when set; 0
	// means no limit.
	PidsLimit *int64
	// NoNewPrivileges replaces the default (true) when set: false lets a
	// setuid binary gain privileges.
	NoNewPrivileges *bool

	DeclRange hcl.Range
}

// linuxCapabilities are the capability names the kernel knows
// (capabilities(7)), without the CAP_ prefix.
var linuxCapabilities = []string{
	"AUDIT_CONTROL", "AUDIT_READ", "AUDIT_WRITE", "BLOCK_SUSPEND", "BPF", "CHECKPOINT_RESTORE",
	"CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "IPC_LOCK", "IPC_OWNER",
	"KILL", "LEASE", "LINUX_IMMUTABLE", "MAC_ADMIN", "MAC_OVERRIDE", "MKNOD", "NET_ADMIN",
	"NET_BIND_SERVICE", "NET_BROADCAST", "NET_RAW", "PERFMON", "SETFCAP", "SETGID", "SETPCAP",
	"SETUID", "SYSLOG", "SYS_ADMIN", "SYS_BOOT", "SYS_CHROOT", "SYS_MODULE", "SYS_NICE",
	"SYS_PACCT", "SYS_PTRACE", "SYS_RAWIO", "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG",
	"WAKE_ALARM",
}

func (l *loader) decodeSecurity(block *hcl.Block) (*Security, hcl.Diagnostics) {
	rng := blockRange(block)
	content, diags := appendContent(nil, block.Body, securitySchema)
	s := &Security{DeclRange: block.DefRange}
	attrs := content.Attributes
	bad := func(summary, detail string, subject hcl.Range) {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError, Summary: summary, Detail: detail,
			Subject: subject.Ptr(), Context: rng.Ptr(),
		})
	}
	if a := attrs["capabilities"]; a != nil {
		list, d := l.stringListAttr(attrs, "capabilities", l.cfg.ctx, rng)
		diags = append(diags, d...)
		seen := map[string]bool{}
		for i, c := range list {
			name := strings.TrimPrefix(strings.ToUpper(c), "CAP_")
			known := name == "ALL"
			for _, k := range linuxCapabilities {
				known = known || k == name
			}
			if !known {
				bad("Unknown capability",
					fmt.Sprintf("%q is not a Linux capability.%s Write names such as \"NET_RAW\" or \"SYS_PTRACE\" (capabilities(7)), or \"ALL\".",
						c, didYouMean(name, linuxCapabilities)),
					elemRange(a.Expr, i))
				continue
			}
			if !seen[name] {
				seen[name] = true
				s.Capabilities = append(s.Capabilities, name)
			}
		}
	}
	if a := attrs["pids_limit"]; a != nil {
		v, d := l.decodeAttr(a, cty.Number, l.cfg.ctx, rng)
		diags = append(diags, d...)
		if !d.HasErrors() && !v.IsNull() {
			f := v.AsBigFloat()
			n, acc := f.Int64()
			if acc != big.Exact || n < 0 {
				bad("Invalid pids limit",
					"pids_limit is the most processes the bottle may run at once: a whole number, or 0 for no limit.",
					a.Expr.Range())
			} else {
				s.PidsLimit = &n
			}
		}
	}
	if a := attrs["no_new_privileges"]; a != nil {
		v, d := l.decodeAttr(a, cty.Bool, l.cfg.ctx, rng)
		diags = append(diags, d...)
		if !d.HasErrors() && !v.IsNull() {
			b := v.True()
			s.NoNewPrivileges = &b
		}
	}
	return s, diags
}
