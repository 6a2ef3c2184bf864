package egress

import (
	"strings"
	"testing"
)

func TestParseRule(t *testing.T) {
	good := map[string]Rule{
		"api.example.com":      {Host: "api.example.com"},
		"API.Example.com.":     {Host: "api.example.com"},
		"*.npmjs.org":          {Host: "*.npmjs.org"},
		"github.com:443":       {Host: "github.com", Port: 443},
		"10.0.0.1":             {Host: "10.0.0.1"},
		"10.0.0.1:8080":        {Host: "10.0.0.1", Port: 8080},
		"::1":                  {Host: "::1"},
		"[2001:db8::1]:443":    {Host: "2001:db8::1", Port: 443},
		"host.docker.internal": {Host: "host.docker.internal"},
		"github.com:*":         {Host: "github.com", Port: AnyPort},
		"*.npmjs.org:*":        {Host: "*.npmjs.org", Port: AnyPort},
		"[::1]:*":              {Host: "::1", Port: AnyPort},
	}
	for in, want := range good {
		got, err := ParseRule(in)
		if err != nil || got != want {
			t.Errorf("ParseRule(%q) = %+v, %v; want %+v", in, got, err, want)
		}
		if again, err := ParseRule(got.String()); err != nil || again != got {
			t.Errorf("ParseRule(%q.String()) = %+v, %v", in, again, err)
		}
	}
	bad := map[string]string{
		"":                               "empty",
		"https://github.com":             "scheme",
		"github.com/path":                "path",
		"github.com:0":                   "port",
		"github.com:65536":               "port",
		"github.com:08":                  "port",
		"github.com:**":                  "port",
		"::1:*":                          "host[:port]",
		"*":                              "first label",
		"a.*.com":                        "first label",
		"-a.com":                         "start or end",
		"a..com":                         "label",
		"fe80::1%eth0":                   "host[:port]",
		"user@host":                      "not a host",
		strings.Repeat("a", 64) + ".com": "1 to 63",
	}
	for in, want := range bad {
		_, err := ParseRule(in)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseRule(%q) = %v; want an error mentioning %q", in, err, want)
		}
	}
}

func TestRuleAllows(t *testing.T) {
	cases := []struct {
		rule string
		host string
		port int
		want bool
	}{
		{"api.example.com", "api.example.com", 443, true},
		{"api.example.com", "API.example.com.", 80, true},
		{"api.example.com", "api.example.com", 22, false},
		{"api.example.com", "evil.api.example.com", 443, false},
		{"api.example.com", "api.example.com.evil.net", 443, false},
		{"*.npmjs.org", "registry.npmjs.org", 443, true},
		{"*.npmjs.org", "npmjs.org", 443, false},
		{"*.npmjs.org", "evilnpmjs.org", 443, false},
		{"github.com:22", "github.com", 22, true},
		{"github.com:22", "github.com", 443, false},
		{"::1", "[::1]", 443, true},
		{"10.0.0.1:8080", "10.0.0.1", 8080, true},
		{"10.0.0.1:8080", "10.0.0.2", 8080, false},
		{"github.com:*", "github.com", 22, true},
		{"github.com:*", "github.com", 443, true},
		{"github.com:*", "gist.github.com", 22, false},
		{"*.github.com:*", "gist.github.com", 22, true},
	}
	for _, c := range cases {
		r, err := ParseRule(c.rule)
		if err != nil {
			t.Fatal(err)
		}
		if got := r.Allows(c.host, c.port); got != c.want {
			t.Errorf("%q allows %s:%d = %v, want %v", c.rule, c.host, c.port, got, c.want)
		}
	}
}

func TestParseUpstream(t *testing.T) {
	good := map[string]Upstream{
		"api.example.com":             {"https", "api.example.com", 443},
		"http://localhost:8080":       {"http", "localhost", 8080},
		"HTTP://api.example.com":      {"http", "api.example.com", 80},
		"https://api.example.com:444": {"https", "api.example.com", 444},
	}
	for in, want := range good {
		if got, err := ParseUpstream(in); err != nil || got != want {
			t.Errorf("ParseUpstream(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, in := range []string{"ftp://a.com", "*.a.com", "https://", "https://a.com/v1"} {
		if _, err := ParseUpstream(in); err == nil {
			t.Errorf("ParseUpstream(%q) succeeded", in)
		}
	}
}

func TestPolicySecretHosts(t *testing.T) {
	p := &Policy{Secrets: []Secret{{Name: "K", Hosts: []Upstream{{"https", "api.example.com", 443}}}}}
	if !p.Allows("api.example.com", 443) || !p.Allows("api.example.com", 80) || p.Allows("api.example.com", 22) {
		t.Error("a secret's host is allowed on its port and on 80 only")
	}
	if u, ok := p.Upstream("api.example.com", 80); !ok || u.Scheme != "https" {
		t.Errorf("Upstream = %+v, %v", u, ok)
	}
	if _, ok := p.Upstream("other.example.com", 80); ok {
		t.Error("another host has no upstream")
	}
}

// FuzzParseRule feeds entries an agent can send (bottle-request --egress):
// ParseRule never panics, and what it accepts round-trips through String.
func FuzzParseRule(f *testing.F) {
	for _, s := range []string{"a.com", "*.a.com:443", "[::1]:80", "1.2.3.4", "a:b:c", "[", "*.", "a.com:", "a.com:*", "[::1]:*"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRule(s)
		if err != nil {
			return
		}
		again, err := ParseRule(r.String())
		if err != nil || again != r {
			t.Fatalf("%q parsed to %+v, whose String %q parses to %+v, %v", s, r, r.String(), again, err)
		}
		// An address allowlist maps exactly "x:*" with "*.x:*", or "ip:*".
		a, issues := ToAddressAllowlist([]Rule{r, {Host: "*." + strings.TrimPrefix(r.Host, "*."), Port: AnyPort}})
		if len(issues) == 0 && (r.Port != AnyPort || len(a.Hosts)+len(a.CIDRs) == 0) {
			t.Fatalf("%+v mapped to %+v without an issue", r, a)
		}
		_, _ = ParseUpstream(s)
		_, _, _ = SplitHostPort(s, 80)
	})
}
