package egress

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// AddressAllowlist is a policy as a backend that filters by address sees
// it: smolvm's --allow-host and --allow-cidr (shared/reference/
// smolvm-cli.md §4). smolvm resolves each host, answers DNS only for the
// hosts and the names under them (learning the addresses of the answers),
// and lets a connection through by its address alone. So a host admits
// itself, every name under it and every port of their addresses; a CIDR
// every port of its addresses.
type AddressAllowlist struct {
	// Hosts are the names for --allow-host, sorted and unique.
	Hosts []string
	// CIDRs are the prefixes for --allow-cidr, sorted and unique: an IP
	// literal becomes a /32 (IPv4) or /128 (IPv6).
	CIDRs []string
}

// Flags is the allowlist as smolvm create flags.
func (a AddressAllowlist) Flags() []string {
	var out []string
	for _, h := range a.Hosts {
		out = append(out, "--allow-host", h)
	}
	for _, c := range a.CIDRs {
		out = append(out, "--allow-cidr", c)
	}
	return out
}

// AddressIssue is an allow entry that an address allowlist would widen:
// Index is its position in the rules given, Problem says how, and Write
// lists the entries that say exactly what it would allow instead.
type AddressIssue struct {
	Index   int
	Problem string
	Write   []string
}

// String is the issue as one sentence plus the fix.
func (i AddressIssue) String() string {
	return i.Problem + "; to accept that, write " + quoteList(i.Write)
}

// ToAddressAllowlist maps rules onto an address allowlist. Only entries
// that already say what smolvm enforces are mapped: "name:*" together with
// "*.name:*" (one --allow-host name), and "ip:*" (--allow-cidr ip/32). Every
// other entry is an issue, never a silently wider allowlist: a port (80 and
// 443 by default) cannot be kept, an exact name would admit the names under
// it, and a wildcard would admit its apex.
func ToAddressAllowlist(rules []Rule) (AddressAllowlist, []AddressIssue) {
	var out AddressAllowlist
	var issues []AddressIssue
	hosts := map[string]bool{}
	for _, r := range rules {
		hosts[r.Host] = true
	}
	for i, r := range rules {
		var problems []string
		if r.Port == 0 {
			problems = append(problems, fmt.Sprintf("without a port, %q admits ports 80 and 443 only, but smolvm filters by address and opens every port of an allowed host", r.String()))
		} else if r.Port != AnyPort {
			problems = append(problems, fmt.Sprintf("smolvm filters by address, not by port: %q would open every port of %s", r.String(), Rule{Host: r.Host}.String()))
		}
		if a, err := netip.ParseAddr(r.Host); err == nil {
			if len(problems) > 0 {
				issues = append(issues, AddressIssue{Index: i, Problem: strings.Join(problems, "; "), Write: []string{Rule{Host: r.Host, Port: AnyPort}.String()}})
				continue
			}
			out.CIDRs = append(out.CIDRs, netip.PrefixFrom(a, a.BitLen()).String())
			continue
		}
		name, wild := strings.CutPrefix(r.Host, "*.")
		switch {
		case wild && !hosts[name]:
			problems = append(problems, fmt.Sprintf("smolvm cannot admit the names under %s without %s itself, which %q does not admit", name, name, r.String()))
		case !wild && !hosts["*."+name]:
			problems = append(problems, fmt.Sprintf("smolvm also admits every name under an allowed name (it answers their lookups and lets their addresses through), which %q does not admit", r.String()))
		}
		if len(problems) > 0 {
			issues = append(issues, AddressIssue{Index: i, Problem: strings.Join(problems, "; "),
				Write: []string{Rule{Host: name, Port: AnyPort}.String(), Rule{Host: "*." + name, Port: AnyPort}.String()}})
			continue
		}
		out.Hosts = append(out.Hosts, name)
	}
	slices.Sort(out.Hosts)
	slices.Sort(out.CIDRs)
	out.Hosts, out.CIDRs = slices.Compact(out.Hosts), slices.Compact(out.CIDRs)
	return out, issues
}

func quoteList(s []string) string {
	q := make([]string, len(s))
	for i, v := range s {
		q[i] = fmt.Sprintf("%q", v)
	}
	if len(q) == 1 {
		return q[0]
	}
	return strings.Join(q[:len(q)-1], ", ") + " and " + q[len(q)-1]
}
