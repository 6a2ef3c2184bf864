package egress

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/netip"
	"strings"
)

// Upstream is one host a secret may be sent to: the proxy forwards plain
// HTTP requests for Host to Scheme://Host:Port, with the placeholder
// replaced by the secret's value.
type Upstream struct {
	Scheme string `json:"scheme"` // "https" or "http"
	Host   string `json:"host"`
	Port   int    `json:"port"`
}

// String writes u in the language's syntax, scheme included.
func (u Upstream) String() string {
	return u.Scheme + "://" + Rule{Host: u.Host, Port: u.Port}.String()
}

// ParseUpstream parses a secret's host entry: [scheme://]host[:port], with
// https by default and the scheme's port by default. No wildcard: a secret
// goes only to hosts named exactly.
func ParseUpstream(s string) (Upstream, error) {
	u := Upstream{Scheme: "https"}
	rest := s
	if scheme, r, ok := strings.Cut(s, "://"); ok {
		u.Scheme, rest = strings.ToLower(scheme), r
		if u.Scheme != "https" && u.Scheme != "http" {
			return Upstream{}, fmt.Errorf("%q: the scheme must be https:// or http://", s)
		}
	}
	if rest == "" || strings.ContainsAny(rest, "/?#@ \t") {
		return Upstream{}, fmt.Errorf("%q is not [scheme://]host[:port], such as \"api.example.com\" or \"http://localhost:8080\"", s)
	}
	r, err := ParseRule(rest)
	if err != nil {
		return Upstream{}, err
	}
	if strings.HasPrefix(r.Host, "*.") {
		return Upstream{}, fmt.Errorf("%q: a secret goes only to hosts named exactly; a wildcard is not allowed here", s)
	}
	u.Host, u.Port = r.Host, r.Port
	if u.Port == 0 {
		u.Port = 443
		if u.Scheme == "http" {
			u.Port = 80
		}
	}
	return u, nil
}

// Secret is a value the bottle never sees: the agent's environment holds
// Placeholder, and the proxy swaps it for Value on requests to Hosts.
type Secret struct {
	Name        string     `json:"name"`
	Placeholder string     `json:"placeholder"`
	Value       string     `json:"value"`
	Hosts       []Upstream `json:"hosts"`
}

// NewPlaceholder mints the placeholder of one secret of one identity:
// bottle-secret-<identity>-<name>-<random>. It is unique per launch, so a
// placeholder seen in a log names the bottle and the secret it stands for.
func NewPlaceholder(identity, name string) (string, error) {
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("mint a placeholder for %s: %w", name, err)
	}
	return "bottle-secret-" + identity + "-" + name + "-" + hex.EncodeToString(b[:]), nil
}

// Policy is what the proxy of one identity enforces.
type Policy struct {
	Identity string   `json:"identity"`
	Allow    []Rule   `json:"allow"`
	Secrets  []Secret `json:"secrets,omitempty"`
	// RootCAs are PEM certificates the proxy trusts for TLS upstreams,
	// besides the system's: an operator's TLS-inspecting gateway, or a
	// test's stand-in for a real API.
	RootCAs string `json:"root_cas,omitempty"`
}

// Allows reports whether host:port may be reached: an allow rule admits
// it, or it is one of a secret's hosts (implicitly allowed, on the
// entry's port and on 80, where the agent's plain-HTTP requests arrive).
func (p *Policy) Allows(host string, port int) bool {
	for _, r := range p.Allow {
		if r.Allows(host, port) {
			return true
		}
	}
	host = NormalHost(host)
	for _, s := range p.Secrets {
		for _, u := range s.Hosts {
			if u.Host == host && (u.Port == port || port == 80) {
				return true
			}
		}
	}
	return false
}

// Upstream returns the secret upstream a plain-HTTP request for host:port
// goes to: one of a secret's hosts named host, asked for on port 80 (the
// agent's http:// URL) or on the entry's own port.
func (p *Policy) Upstream(host string, port int) (Upstream, bool) {
	host = NormalHost(host)
	for _, s := range p.Secrets {
		for _, u := range s.Hosts {
			if u.Host == host && (port == 80 || port == u.Port) {
				return u, true
			}
		}
	}
	return Upstream{}, false
}

// SplitHostPort splits an authority into host and port, with def when it
// has none.
func SplitHostPort(authority string, def int) (string, int, error) {
	if a, err := netip.ParseAddr(strings.Trim(authority, "[]")); err == nil && !strings.Contains(authority, "]:") {
		return a.String(), def, nil
	}
	h, p, err := net.SplitHostPort(authority)
	if err != nil {
		if strings.Contains(authority, ":") {
			return "", 0, fmt.Errorf("%q is not host:port", authority)
		}
		return NormalHost(authority), def, nil
	}
	n, err := ParsePort(p)
	if err != nil {
		return "", 0, err
	}
	return NormalHost(h), n, nil
}
