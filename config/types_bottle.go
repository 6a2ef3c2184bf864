package config

import (
	"fmt"
	"sort"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// Backend names.
const (
	BackendDocker       = "docker"
	BackendSmolmachines = "smolmachines"
)

// SmolmachinesMaxCPUs is the most vCPUs a smolmachines bottle can ask for:
// smolvm's --cpus is an unsigned byte, and larger values are a usage error.
const SmolmachinesMaxCPUs = 255

// BackendEnv names the environment variable that sets the backend of the
// bottles that do not set one.
const BackendEnv = "BOTTLE_BACKEND"

// Bottle is a bottle block: which agent runs, where and how.
type Bottle struct {
	Name  string
	Agent *Agent
	// Backend is "docker" or "smolmachines": the block's backend, else
	// BOTTLE_BACKEND (BackendFromEnv is then true), else "docker".
	Backend        string
	BackendFromEnv bool
	// Cwd is nil when the bottle has no cwd block.
	Cwd *Cwd
	// CPUs is 0 when unset.
	CPUs float64
	// Memory is the size as written ("4GiB"), MemoryBytes its value; both
	// zero when unset.
	Memory      string
	MemoryBytes int64
	// Network gives the bottle outbound network access (default true:
	// agents talk to their model's API). false cuts it off entirely.
	Network bool
	// Containment is the egress policy, secrets and security block
	// (types_egress.go).
	Containment

	// Kubernetes is the kubernetes block (nil when absent); Registry is
	// where images built for a kubernetes bottle are pushed ("" when
	// unset: BOTTLE_KUBE_REGISTRY).
	Kubernetes    *Kubernetes
	Registry      string
	RegistryRange hcl.Range

	// BackendRange is the backend argument, or the block header when the
	// backend is not set in the block.
	DeclRange, AgentRange, BackendRange, CPUsRange, MemoryRange hcl.Range

	env hcl.Expression
	ctx *hcl.EvalContext
	rng hcl.Range
}

// Cwd is a bottle's cwd block: how the project folder gets into the bottle.
type Cwd struct {
	// Path is absolute, resolved against the config file's folder; "."
	// (that folder) by default.
	Path string
	// Copy copies the folder into the bottle; false bind-mounts it.
	Copy bool
	// Target is where it appears inside; the agent's workdir by default.
	Target string
	// Exclude lists patterns left out of a copy.
	Exclude []string
	// Keep says how a copied workspace's changes come out when the session
	// ends: KeepBranch, KeepPatch, KeepNone, or "" for the default (a
	// branch when the folder is a git work tree, else a patch).
	Keep string

	DeclRange, PathRange, TargetRange, KeepRange hcl.Range
}

// Values of a cwd block's keep.
const (
	KeepBranch = "branch"
	KeepPatch  = "patch"
	KeepNone   = "none"
)

// bottles is the bottles stage.
func (l *loader) bottles(blocks []*rawBottle) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, rb := range blocks {
		b, d := l.decodeBottle(rb)
		diags = append(diags, d...)
		l.cfg.Bottles = append(l.cfg.Bottles, b)
	}
	sort.Slice(l.cfg.Bottles, func(i, j int) bool { return l.cfg.Bottles[i].Name < l.cfg.Bottles[j].Name })
	return diags
}

func (l *loader) decodeBottle(rb *rawBottle) (*Bottle, hcl.Diagnostics) {
	attrs := rb.content.Attributes
	ctx := l.cfg.ctx
	b := &Bottle{Name: rb.name(), DeclRange: rb.block.DefRange, ctx: ctx, rng: rb.rng}
	var diags, d hcl.Diagnostics

	if a := attrs["agent"]; a != nil {
		b.AgentRange = a.Expr.Range()
		b.Agent, d = l.agentRef(a, rb.rng)
		diags = append(diags, d...)
	}

	b.Backend, b.BackendRange, d = l.stringAttr(attrs, "backend", ctx, rb.rng)
	diags = append(diags, d...)
	if b.Backend == "" { // also when it is broken: reported once, above
		b.Backend, b.BackendRange = BackendDocker, rb.block.DefRange
		if v, ok := l.env(BackendEnv); ok && v != "" {
			b.Backend, b.BackendFromEnv = v, true
		}
	}

	b.Network = true
	if a := attrs["network"]; a != nil {
		val, d := l.decodeAttr(a, cty.Bool, ctx, rb.rng)
		diags = append(diags, d...)
		if !d.HasErrors() && val.IsKnown() && !val.IsNull() {
			b.Network = val.True()
		}
	}

	b.env, d = l.launchExpr(attrs["env"], rb.rng)
	diags = append(diags, d...)

	if rb.cwd != nil {
		b.Cwd, d = l.decodeCwd(rb.cwd, b.Agent)
		diags = append(diags, d...)
	}
	if rb.resources != nil {
		diags = append(diags, l.decodeResources(rb.resources, b)...)
	}
	diags = append(diags, l.bottleContainment(rb, b)...)
	diags = append(diags, l.decodeKubernetes(rb, b)...)
	return b, diags
}

// agentRef resolves agent = agent.NAME. It is a reference rather than a
// string so that a typo is caught as an undeclared agent, with a suggestion.
func (l *loader) agentRef(a *hcl.Attribute, within hcl.Range) (*Agent, hcl.Diagnostics) {
	diag := &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Invalid agent reference",
		Subject:  a.Expr.Range().Ptr(),
		Context:  within.Ptr(),
	}
	t, td := hcl.AbsTraversalForExpr(a.Expr)
	if td.HasErrors() {
		diag.Detail = "The agent argument must be a reference to an agent block, such as agent.claude."
		if v, d := a.Expr.Value(nil); !d.HasErrors() && v.Type() == cty.String && v.IsKnown() && !v.IsNull() {
			diag.Detail = fmt.Sprintf("The agent argument is a reference, not a string: write agent = agent.%s, without quotes.", v.AsString())
		}
		return nil, hcl.Diagnostics{diag}
	}
	name, ok := stepName(t)
	if t.RootName() != rootAgent || !ok || len(t) != 2 {
		diag.Detail = "The agent argument must be a reference to an agent block, such as agent.claude."
		return nil, hcl.Diagnostics{diag}
	}
	agent := l.cfg.Agents[name]
	if agent == nil {
		diag.Summary = "Reference to undeclared agent"
		diag.Detail = fmt.Sprintf("There is no agent named %q.%s Declare it with an agent %q block.",
			name, didYouMean(name, sortedKeys(l.cfg.Agents)), name)
		return nil, hcl.Diagnostics{diag}
	}
	return agent, nil
}

func (l *loader) decodeCwd(rb *rawBlock, agent *Agent) (*Cwd, hcl.Diagnostics) {
	attrs := rb.content.Attributes
	ctx := l.cfg.ctx
	c := &Cwd{Path: l.cfg.Dir, DeclRange: rb.block.DefRange, PathRange: rb.block.DefRange}
	var diags, d hcl.Diagnostics
	if p, r, d := l.pathAttr(attrs, "path", rb.rng); p != "" {
		c.Path, c.PathRange = p, r
	} else {
		diags = append(diags, d...) // a broken path keeps the default
	}
	if a := attrs["copy"]; a != nil {
		v, d := l.decodeAttr(a, cty.Bool, ctx, rb.rng)
		diags = append(diags, d...)
		c.Copy = !v.IsNull() && v.True()
	}
	c.Target, c.TargetRange, d = l.stringAttr(attrs, "target", ctx, rb.rng)
	diags = append(diags, d...)
	if c.Target == "" && agent != nil {
		c.Target, c.TargetRange = agent.Workdir, rb.block.DefRange
	}
	c.Exclude, d = l.stringListAttr(attrs, "exclude", ctx, rb.rng)
	diags = append(diags, d...)
	c.Keep, c.KeepRange, d = l.stringAttr(attrs, "keep", ctx, rb.rng)
	diags = append(diags, d...)
	switch c.Keep {
	case "", KeepBranch, KeepPatch, KeepNone:
	default:
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Invalid keep value",
			Detail: fmt.Sprintf("keep is %q; it must be \"branch\" (a commit on bottle/<identity>), \"patch\" "+
				"(a file under $BOTTLE_HOME/results) or \"none\" (the copy is dropped).", c.Keep),
			Subject: c.KeepRange.Ptr(),
			Context: rb.rng.Ptr(),
		})
	}
	return c, diags
}

func (l *loader) decodeResources(rb *rawBlock, b *Bottle) hcl.Diagnostics {
	attrs := rb.content.Attributes
	var diags, d hcl.Diagnostics
	if a := attrs["cpus"]; a != nil {
		v, d := l.decodeAttr(a, cty.Number, l.cfg.ctx, rb.rng)
		diags = append(diags, d...)
		if !v.IsNull() {
			b.CPUs, _ = v.AsBigFloat().Float64()
			b.CPUsRange = a.Expr.Range()
		}
	}
	b.Memory, b.MemoryRange, d = l.stringAttr(attrs, "memory", l.cfg.ctx, rb.rng)
	return append(diags, d...)
}
