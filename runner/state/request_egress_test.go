package state

import (
	"strings"
	"testing"

	"github.com/bottle-dev/bottle/backend/egress"
)

func TestParseEgressRequest(t *testing.T) {
	ok := `{"id": "r1", "kind": "egress", "reason": "need pypi", "egress": ["PyPI.org:443", "files.pythonhosted.org"], "created_at": "2026-01-02T03:04:05Z"}`
	r, err := ParseRequest("r1", []byte(ok))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(r.Egress, " ") != "pypi.org:443 files.pythonhosted.org" {
		t.Errorf("egress %q, want normalised entries", r.Egress)
	}
	bad := map[string]string{
		`{"id": "r1", "kind": "egress", "reason": "x", "egress": []}`:                                 "egress is empty",
		`{"id": "r1", "kind": "egress", "reason": "x", "egress": ["https://a.com"]}`:                  "scheme",
		`{"id": "r1", "kind": "egress", "reason": "x", "egress": ["a.com"], "dockerfile": ["RUN x"]}`: "no dockerfile lines",
		`{"id": "r1", "kind": "egress", "reason": "x", "egress": ["a.com\n"]}`:                        "not a host",
		`{"id": "r1", "kind": "capability", "reason": "x", "dockerfile": ["RUN x"], "egress": ["a"]}`: "no egress entries",
		`{"id": "r1", "kind": "network", "reason": "x", "egress": ["a"]}`:                             "unknown request kind",
	}
	for in, want := range bad {
		if _, err := ParseRequest("r1", []byte(in)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseRequest(%s) = %v, want %q", in, err, want)
		}
	}
}

func TestEgressGrantsRecorded(t *testing.T) {
	h := Home{Path: t.TempDir()}
	d, err := h.Create("b-k3x9a")
	if err != nil {
		t.Fatal(err)
	}
	if g, err := d.EgressGrants(); err != nil || g != nil {
		t.Fatalf("no grants yet: %v %v", g, err)
	}
	for range 2 {
		if err := d.AddEgressGrants([]egress.Rule{{Host: "pypi.org", Port: 443}, {Host: "::1"}}); err != nil {
			t.Fatal(err)
		}
	}
	g, err := d.EgressGrants()
	if err != nil || len(g) != 2 || g[0].String() != "pypi.org:443" || g[1].String() != "[::1]" {
		t.Errorf("grants %v, %v", g, err)
	}
}
