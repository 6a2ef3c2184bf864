package egress

import (
	"slices"
	"strings"
	"testing"
)

func rules(t *testing.T, entries ...string) []Rule {
	t.Helper()
	var out []Rule
	for _, e := range entries {
		r, err := ParseRule(e)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

func TestToAddressAllowlist(t *testing.T) {
	a, issues := ToAddressAllowlist(rules(t, "api.example.com:*", "*.api.example.com:*", "10.0.0.5:*", "[2001:db8::1]:*",
		"*.npmjs.org:*", "npmjs.org:*", "10.0.0.5:*"))
	if len(issues) > 0 {
		t.Fatalf("issues: %v", issues)
	}
	if want := []string{"api.example.com", "npmjs.org"}; !slices.Equal(a.Hosts, want) {
		t.Errorf("Hosts = %v, want %v", a.Hosts, want)
	}
	if want := []string{"10.0.0.5/32", "2001:db8::1/128"}; !slices.Equal(a.CIDRs, want) {
		t.Errorf("CIDRs = %v, want %v", a.CIDRs, want)
	}
	want := "--allow-host api.example.com --allow-host npmjs.org --allow-cidr 10.0.0.5/32 --allow-cidr 2001:db8::1/128"
	if got := strings.Join(a.Flags(), " "); got != want {
		t.Errorf("Flags = %s, want %s", got, want)
	}
}

func TestToAddressAllowlistIssues(t *testing.T) {
	cases := []struct {
		entries []string
		index   int
		problem string
		write   []string
	}{
		{[]string{"api.example.com"}, 0, "admits ports 80 and 443 only", []string{"api.example.com:*", "*.api.example.com:*"}},
		{[]string{"api.example.com", "*.api.example.com:*"}, 0, "opens every port", []string{"api.example.com:*", "*.api.example.com:*"}},
		{[]string{"github.com:22", "*.github.com:*"}, 0, "not by port", []string{"github.com:*", "*.github.com:*"}},
		{[]string{"api.example.com:*"}, 0, "every name under", []string{"api.example.com:*", "*.api.example.com:*"}},
		{[]string{"*.example.com:*"}, 0, "without example.com itself", []string{"example.com:*", "*.example.com:*"}},
		{[]string{"10.0.0.5"}, 0, "admits ports 80 and 443 only", []string{"10.0.0.5:*"}},
		{[]string{"a.com:*", "[::1]:443"}, 1, "not by port", []string{"[::1]:*"}},
	}
	for _, c := range cases {
		_, issues := ToAddressAllowlist(rules(t, c.entries...))
		var found bool
		for _, is := range issues {
			if is.Index == c.index && strings.Contains(is.Problem, c.problem) && slices.Equal(is.Write, c.write) {
				found = true
			}
		}
		if !found {
			t.Errorf("%v: issues %+v; want one for entry %d mentioning %q, writing %v", c.entries, issues, c.index, c.problem, c.write)
		}
	}
}
