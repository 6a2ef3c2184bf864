package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"time"
)

// egressFlags applies --allow-cidr, --allow-host and
// --outbound-localhost-only as smolvm 1.9.x does at create (reference §3.1,
// §4): a CIDR is checked by the argument parser (a usage error, exit 2) and
// a bare address becomes /32 or /128; a host is resolved on the host now,
// a bare address standing for itself, a "host:port" refused, and a failed
// lookup aborts the create. The result is recorded as smolvm records it:
// the CIDRs (resolved hosts included) and the host names its DNS filter
// admits. FAKESMOLVM_HOSTS names a hosts-format file that replaces the
// system resolver, so tests resolve names without sending a DNS query.
func (a *app) egressFlags(ctx context.Context, p *args, m *machine) error {
	for _, c := range p.values["allow-cidr"] {
		cidr, err := parseCIDR(c)
		if err != nil {
			return &usageError{msg: fmt.Sprintf("invalid value '%s' for '--allow-cidr <CIDR>': %v", c, err), usage: specs["create"].usage}
		}
		m.AllowedCIDRs = append(m.AllowedCIDRs, cidr)
	}
	hosts := p.values["allow-host"]
	for _, h := range hosts {
		cidrs, err := a.resolveHost(ctx, h)
		if err != nil {
			return fmt.Errorf("config operation failed: --allow-host: %w", err)
		}
		m.AllowedCIDRs = append(m.AllowedCIDRs, cidrs...)
	}
	if p.has("outbound-localhost-only") {
		m.AllowedCIDRs = append(m.AllowedCIDRs, "127.0.0.0/8", "::1/128")
	}
	if len(hosts) > 0 {
		m.DNSFilterHosts = append([]string{}, hosts...)
	}
	return nil
}

// parseCIDR is smolvm's parse_cidr: ADDR/LEN, or a bare address as a
// single-address prefix; the address part is kept as written.
func parseCIDR(s string) (string, error) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.String(), nil
	}
	if a, err := netip.ParseAddr(s); err == nil && a.Zone() == "" {
		return netip.PrefixFrom(a, a.BitLen()).String(), nil
	}
	return "", fmt.Errorf("invalid CIDR '%s': expected format like 10.0.0.0/8 or 1.1.1.1", s)
}

// resolveHost is smolvm's resolve_host_to_cidrs: an address is itself,
// "host:port" is refused, a name is looked up with a 10 s limit and each
// address becomes a /32 or /128.
func (a *app) resolveHost(ctx context.Context, host string) ([]string, error) {
	if addr, err := netip.ParseAddr(host); err == nil && addr.Zone() == "" {
		return []string{netip.PrefixFrom(addr, addr.BitLen()).String()}, nil
	}
	if strings.Contains(host, ":") {
		return nil, fmt.Errorf("invalid hostname '%s': port suffixes are not supported. "+
			"Use the hostname only (all ports are allowed to resolved IPs).", host)
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	addrs, err := a.lookup(ctx, host)
	if errors.Is(err, context.DeadlineExceeded) {
		return nil, fmt.Errorf("DNS resolution for '%s' timed out after 10 seconds", host)
	}
	if err != nil {
		return nil, fmt.Errorf("failed to resolve '%s': %v", host, err)
	}
	if len(addrs) == 0 {
		return nil, fmt.Errorf("'%s' resolved to no addresses", host)
	}
	var out []string
	for _, addr := range addrs {
		out = append(out, netip.PrefixFrom(addr, addr.BitLen()).String())
	}
	return out, nil
}

// lookup resolves a name through FAKESMOLVM_HOSTS when it is set, else the
// system resolver.
func (a *app) lookup(ctx context.Context, host string) ([]netip.Addr, error) {
	path := a.env("FAKESMOLVM_HOSTS")
	if path == "" {
		return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []netip.Addr
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		fields := strings.Fields(line)
		if len(fields) < 2 {
			continue
		}
		addr, err := netip.ParseAddr(fields[0])
		if err != nil {
			continue
		}
		for _, name := range fields[1:] {
			if strings.EqualFold(strings.TrimSuffix(name, "."), strings.TrimSuffix(host, ".")) {
				out = append(out, addr)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("lookup %s: no such host", host)
	}
	return out, nil
}

// offline reports whether m's stand-in container gets no network. An
// allowlist is checked and recorded but not enforced by the fake, so a
// machine with one gets no network at all: a test never sees more than
// the real allowlist would allow.
func (m *machine) offline() bool {
	return !m.Network || len(m.AllowedCIDRs) > 0 || len(m.DNSFilterHosts) > 0
}
