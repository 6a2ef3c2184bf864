package config

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/bottle-dev/bottle/backend/egress"
)

// Blocks of containment (DESIGN.md, "Containment"): in agent and bottle
// blocks, egress and secret; in bottle blocks only, security.
const (
	blockEgress   = "egress"
	blockSecret   = "secret"
	blockSecurity = "security"
)

// containmentBlocks are the nested block types an agent (bottle false) or
// a bottle (bottle true) accepts for containment.
func containmentBlocks(bottle bool) []hcl.BlockHeaderSchema {
	out := []hcl.BlockHeaderSchema{
		{Type: blockEgress},
		{Type: blockSecret, LabelNames: []string{"name"}},
	}
	if bottle {
		out = append(out, hcl.BlockHeaderSchema{Type: blockSecurity})
	}
	return out
}

func isContainmentBlock(t string) bool {
	return t == blockEgress || t == blockSecret || t == blockSecurity
}

var egressSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "allow"}},
}

var secretSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "value", Required: true},
		{Name: "hosts", Required: true},
	},
}

// Containment is the network policy of an agent or a bottle; a bottle's
// is the union of its own blocks and its agent's.
type Containment struct {
	// Egress is true when there is an egress block (in the bottle or its
	// agent): everything Allow does not admit is denied.
	Egress bool
	// Allow is every allow entry, the agent's first; the secrets' hosts
	// are allowed besides.
	Allow []AllowEntry
	// Secrets are sorted by name; a bottle's secret replaces its agent's
	// of the same name.
	Secrets []*Secret
	// Security is the bottle's security block; nil means the defaults.
	Security *Security
	// EgressRange is the first egress block's header (the bottle's, else
	// its agent's); empty without one.
	EgressRange hcl.Range
}

// AllowEntry is one parsed allow entry and where it was written.
type AllowEntry struct {
	egress.Rule
	Range hcl.Range
}

// Secret is a secret block: the agent's environment variable Name holds a
// placeholder, and the proxy sends the real value to Hosts only.
type Secret struct {
	Name  string
	Hosts []egress.Upstream
	// Agent is true when the secret comes from the agent block.
	Agent bool

	DeclRange, ValueRange hcl.Range
	value                 string
}

// Value is the secret's real value. It is sensitive: never print, log or
// store it, and never put it in a container's environment.
func (s *Secret) Value() string { return s.value }

var envNamePattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// reservedEnv are variables the runner sets itself; a secret cannot take
// their name.
var reservedEnv = map[string]bool{
	"HTTP_PROXY": true, "HTTPS_PROXY": true, "NO_PROXY": true,
	"http_proxy": true, "https_proxy": true, "no_proxy": true,
}

// decodeContainment decodes the egress and secret blocks of one agent or
// bottle body (and its security block, for a bottle).
func (l *loader) decodeContainment(blocks hcl.Blocks, within hcl.Range) (Containment, hcl.Diagnostics) {
	var c Containment
	var diags hcl.Diagnostics
	secrets := map[string]*Secret{}
	for _, block := range blocks {
		switch block.Type {
		case blockEgress:
			if c.Egress {
				diags = append(diags, duplicateBlock(block, c.EgressRange, within))
				continue
			}
			c.Egress, c.EgressRange = true, block.DefRange
			diags = append(diags, l.decodeEgress(block, &c)...)
		case blockSecret:
			s, d := l.decodeSecret(block)
			diags = append(diags, d...)
			if s == nil {
				continue
			}
			if first := secrets[s.Name]; first != nil {
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Duplicate secret",
					Detail: fmt.Sprintf("A secret named %q was already declared at %s. Names must be unique within a block: remove one of them.",
						s.Name, posString(first.DeclRange)),
					Subject: block.LabelRanges[0].Ptr(),
					Context: within.Ptr(),
				})
				continue
			}
			secrets[s.Name] = s
		case blockSecurity:
			if c.Security != nil {
				diags = append(diags, duplicateBlock(block, c.Security.DeclRange, within))
				continue
			}
			var d hcl.Diagnostics
			c.Security, d = l.decodeSecurity(block)
			diags = append(diags, d...)
		}
	}
	for _, s := range secrets {
		c.Secrets = append(c.Secrets, s)
	}
	sort.Slice(c.Secrets, func(i, j int) bool { return c.Secrets[i].Name < c.Secrets[j].Name })
	return c, diags
}

func duplicateBlock(block *hcl.Block, first hcl.Range, within hcl.Range) *hcl.Diagnostic {
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  fmt.Sprintf("Duplicate %s block", block.Type),
		Detail: fmt.Sprintf("A block has at most one %s block; the first one is at %s. Merge the two blocks.",
			block.Type, posString(first)),
		Subject: block.DefRange.Ptr(),
		Context: within.Ptr(),
	}
}

func (l *loader) decodeEgress(block *hcl.Block, c *Containment) hcl.Diagnostics {
	rng := blockRange(block)
	content, diags := appendContent(nil, block.Body, egressSchema)
	a := content.Attributes["allow"]
	if a == nil {
		return diags
	}
	list, d := l.stringListAttr(content.Attributes, "allow", l.cfg.ctx, rng)
	diags = append(diags, d...)
	for i, s := range list {
		r, err := egress.ParseRule(s)
		if err != nil {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Invalid egress entry",
				Detail:   capitalize(err.Error()) + ". Entries are \"host\", \"*.domain\", \"host:port\" or an IP address with an optional port; without a port, 80 and 443 are allowed.",
				Subject:  elemRange(a.Expr, i).Ptr(),
				Context:  rng.Ptr(),
			})
			continue
		}
		c.Allow = append(c.Allow, AllowEntry{Rule: r, Range: elemRange(a.Expr, i)})
	}
	return diags
}

func (l *loader) decodeSecret(block *hcl.Block) (*Secret, hcl.Diagnostics) {
	rng := blockRange(block)
	name := block.Labels[0]
	content, diags := appendContent(nil, block.Body, secretSchema)
	bad := func(summary, detail string, subject hcl.Range) {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError, Summary: summary, Detail: detail,
			Subject: subject.Ptr(), Context: rng.Ptr(),
		})
	}
	switch {
	case !envNamePattern.MatchString(name):
		bad("Invalid secret name",
			fmt.Sprintf("%q is not an environment variable name: the secret's name is the variable the agent sees. Use letters, digits and underscores, not starting with a digit.", name),
			block.LabelRanges[0])
	case reservedEnv[name] || strings.HasPrefix(name, "BOTTLE_"):
		bad("Reserved secret name",
			fmt.Sprintf("bottle sets %s itself. Give the secret the name of the variable the agent reads its credential from.", name),
			block.LabelRanges[0])
	}
	s := &Secret{Name: name, DeclRange: block.DefRange}
	if a := content.Attributes["value"]; a != nil {
		s.ValueRange = a.Expr.Range()
		v, d := l.decodeAttr(a, cty.String, l.cfg.ctx, rng)
		diags = append(diags, d...)
		if !v.IsNull() {
			s.value = v.AsString()
		}
	}
	if a := content.Attributes["hosts"]; a != nil {
		list, d := l.stringListAttr(content.Attributes, "hosts", l.cfg.ctx, rng)
		diags = append(diags, d...)
		if !d.HasErrors() && len(list) == 0 {
			bad("Secret without hosts",
				"hosts lists where the secret may be sent, such as [\"api.example.com\"]; a secret sent nowhere is of no use. Add a host or remove the secret.",
				a.Expr.Range())
		}
		for i, h := range list {
			u, err := egress.ParseUpstream(h)
			if err != nil {
				bad("Invalid secret host",
					capitalize(err.Error())+". A secret's host is [scheme://]host[:port]: https by default, http:// for a plain-HTTP upstream.",
					elemRange(a.Expr, i))
				continue
			}
			s.Hosts = append(s.Hosts, u)
		}
	}
	if diags.HasErrors() {
		return nil, diags
	}
	return s, diags
}

// bottleContainment merges a bottle's containment with its agent's and
// checks it against the network argument.
func (l *loader) bottleContainment(rb *rawBottle, b *Bottle) hcl.Diagnostics {
	own, diags := l.decodeContainment(rb.content.Blocks, rb.rng)
	var agent Containment
	if b.Agent != nil {
		agent = b.Agent.containment
	}
	c := Containment{Egress: own.Egress || agent.Egress, Security: own.Security, EgressRange: own.EgressRange}
	if !own.Egress {
		c.EgressRange = agent.EgressRange
	}
	c.Allow = append(append([]AllowEntry{}, agent.Allow...), own.Allow...)
	byName := map[string]*Secret{}
	for _, s := range agent.Secrets {
		byName[s.Name] = s
	}
	for _, s := range own.Secrets {
		byName[s.Name] = s
	}
	for _, s := range byName {
		c.Secrets = append(c.Secrets, s)
	}
	sort.Slice(c.Secrets, func(i, j int) bool { return c.Secrets[i].Name < c.Secrets[j].Name })
	b.Containment = c
	if b.Backend == BackendSmolmachines && b.Network {
		diags = append(diags, validateSmolmachinesEgress(b)...)
	}
	if !b.Network && (c.Egress || len(c.Secrets) > 0) {
		subject, what := rb.block.DefRange, "egress block"
		if a := rb.content.Attributes["network"]; a != nil {
			subject = a.Expr.Range()
		}
		if len(c.Secrets) > 0 && !c.Egress {
			what = "secret"
		}
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Egress without network",
			Detail: fmt.Sprintf("network = false cuts the bottle off entirely, yet it has a%s %s (%s). Remove network = false to allow only what the egress block lists, or remove the %s.",
				article(what), what, posString(firstOf(c)), what),
			Subject: subject.Ptr(),
			Context: rb.rng.Ptr(),
		})
	}
	return diags
}

func firstOf(c Containment) hcl.Range {
	if c.Egress {
		return c.EgressRange
	}
	return c.Secrets[0].DeclRange
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// agentContainment decodes an agent's egress and secret blocks.
func (l *loader) agentContainment(rb *rawBlock, a *Agent) hcl.Diagnostics {
	c, diags := l.decodeContainment(rb.content.Blocks, rb.rng)
	for _, s := range c.Secrets {
		s.Agent = true
	}
	a.containment = c
	return diags
}
