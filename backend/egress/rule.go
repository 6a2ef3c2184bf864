package egress

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// AnyPort is the Port of an entry written "host:*": every port of the host.
// A backend that filters by address only (smolmachines) can honour no
// narrower entry, so the language lets a user say so explicitly.
const AnyPort = -1

// Rule is one allowed destination: a host name, a "*.domain" pattern or an
// IP literal, and a port (0 means 80 and 443, AnyPort every port).
type Rule struct {
	// Host is lower-case, without a trailing dot; "*.example.com" matches
	// every subdomain of example.com (not example.com itself); an IPv6
	// literal is written without brackets.
	Host string `json:"host"`
	Port int    `json:"port,omitempty"`
}

// String writes r back in the language's syntax.
func (r Rule) String() string {
	host := r.Host
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	switch r.Port {
	case 0:
		return host
	case AnyPort:
		return host + ":*"
	}
	return host + ":" + strconv.Itoa(r.Port)
}

// Allows reports whether r admits host:port. host is matched case-
// insensitively and without a trailing dot.
func (r Rule) Allows(host string, port int) bool {
	if r.Port == 0 {
		if port != 80 && port != 443 {
			return false
		}
	} else if r.Port != AnyPort && r.Port != port {
		return false
	}
	host = NormalHost(host)
	if domain, ok := strings.CutPrefix(r.Host, "*."); ok {
		return strings.HasSuffix(host, "."+domain)
	}
	if a, err := netip.ParseAddr(r.Host); err == nil {
		b, err := netip.ParseAddr(host)
		return err == nil && a.Unmap() == b.Unmap()
	}
	return host == r.Host
}

// NormalHost lower-cases a host name and drops a trailing dot and the
// brackets of an IPv6 literal.
func NormalHost(host string) string {
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		host = host[1 : len(host)-1]
	}
	return host
}

// ParseRule parses an allow entry: "host", "*.example.com", "host:port",
// "host:*" (every port), "1.2.3.4", "1.2.3.4:443", "::1" or "[::1]:443".
// The error says what is
// wrong and how to write the entry instead.
func ParseRule(s string) (Rule, error) {
	if s == "" {
		return Rule{}, errors.New("the entry is empty; write a host name such as \"api.example.com\"")
	}
	if strings.Contains(s, "://") {
		return Rule{}, fmt.Errorf("%q has a scheme; an allow entry is host[:port], such as \"api.example.com:443\"", s)
	}
	if strings.ContainsAny(s, "/?#@ \t") {
		return Rule{}, fmt.Errorf("%q is not a host; an allow entry is host[:port], without a path or user", s)
	}
	// A bare IPv6 literal has colons but no port.
	if a, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")); err == nil && a.Zone() == "" && a.Is6() == strings.Contains(s, ":") {
		return Rule{Host: a.String()}, nil
	}
	host, port := s, 0
	if h, p, err := net.SplitHostPort(s); err == nil && p == "*" {
		host, port = h, AnyPort
	} else if err == nil {
		n, perr := ParsePort(p)
		if perr != nil {
			return Rule{}, fmt.Errorf("%q: %w", s, perr)
		}
		host, port = h, n
	} else if strings.Contains(s, ":") {
		return Rule{}, fmt.Errorf("%q is not host[:port]; write an IPv6 address with a port as \"[::1]:443\"", s)
	}
	if a, err := netip.ParseAddr(host); err == nil && a.Zone() == "" {
		return Rule{Host: a.String(), Port: port}, nil
	}
	h, err := checkName(host, true)
	if err != nil {
		return Rule{}, fmt.Errorf("%q: %w", s, err)
	}
	return Rule{Host: h, Port: port}, nil
}

// ParsePort parses a port number, 1 to 65535.
func ParsePort(p string) (int, error) {
	n, err := strconv.Atoi(p)
	if err != nil || n < 1 || n > 65535 || p[0] == '0' || p[0] == '+' {
		return 0, fmt.Errorf("port %q is not a number from 1 to 65535", p)
	}
	return n, nil
}

// checkName validates a DNS name (a "*." prefix when wild) and returns it
// normalised.
func checkName(host string, wild bool) (string, error) {
	name := NormalHost(host)
	rest, isWild := strings.CutPrefix(name, "*.")
	switch {
	case isWild && !wild:
		return "", errors.New("a wildcard is not allowed here; name the host exactly")
	case strings.Contains(rest, "*"):
		return "", errors.New("\"*\" may only stand as the first label, as in \"*.example.com\"")
	case rest == "":
		return "", errors.New("the host name is empty")
	case len(rest) > 253:
		return "", errors.New("the host name is longer than 253 characters")
	}
	for _, label := range strings.Split(rest, ".") {
		if label == "" || len(label) > 63 {
			return "", fmt.Errorf("%q is not a host name: every dot-separated label must have 1 to 63 characters", host)
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			ok := c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_'
			if !ok {
				return "", fmt.Errorf("%q is not a host name: %q is not allowed in one", host, string(c))
			}
		}
		if label[0] == '-' || label[len(label)-1] == '-' {
			return "", fmt.Errorf("%q is not a host name: a label cannot start or end with \"-\"", host)
		}
	}
	return name, nil
}
