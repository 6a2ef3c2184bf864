package config

import (
	"path/filepath"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// DefaultWorkdir is the agent's working directory when workdir is unset.
// Agents key their history by it, so it stays the same on every launch.
const DefaultWorkdir = "/workspace"

// Agent is an agent block: what runs inside a bottle.
type Agent struct {
	Name string
	// Image is set when the agent runs an existing image.
	Image string
	// Dockerfile is set, absolute, when the agent's image is built; Context is
	// the absolute build context, by default the Dockerfile's folder.
	Dockerfile, Context string
	// Transcript is the absolute path inside the bottle where the agent keeps
	// its history; "" when unset.
	Transcript string
	// Workdir is the working directory inside the bottle.
	Workdir string
	// User runs the command inside the bottle; "" means the image's user.
	User string

	DeclRange, ImageRange, DockerfileRange, ContextRange, TranscriptRange, CommandRange hcl.Range

	// command, resume_command and env stay expressions: they may use
	// session.id and session.identity, known only at launch.
	command, resumeCommand, env hcl.Expression
	workdirRange                hcl.Range
	rng                         hcl.Range
	// containment holds the agent's egress and secret blocks; bottles
	// merge them with their own.
	containment Containment
}

// agents is the agents stage.
func (l *loader) agents(blocks []*rawBlock) hcl.Diagnostics {
	var diags hcl.Diagnostics
	l.cfg.ctx = l.evalContext()
	for _, rb := range blocks {
		a, d := l.decodeAgent(rb)
		diags = append(diags, d...)
		l.cfg.Agents[a.Name] = a
	}
	return diags
}

func (l *loader) decodeAgent(rb *rawBlock) (*Agent, hcl.Diagnostics) {
	attrs := rb.content.Attributes
	ctx := l.cfg.ctx
	a := &Agent{Name: rb.name(), Workdir: DefaultWorkdir, DeclRange: rb.block.DefRange, rng: rb.rng}
	var diags, d hcl.Diagnostics

	a.Image, a.ImageRange, d = l.stringAttr(attrs, "image", ctx, rb.rng)
	diags = append(diags, d...)
	if a.Image == "" && a.ImageRange != (hcl.Range{}) {
		diags = append(diags, emptyDiag(attrs["image"], "an image reference such as \"node:22-bookworm-slim\"", rb.rng))
	}
	a.Dockerfile, a.DockerfileRange, d = l.pathAttr(attrs, "dockerfile", rb.rng)
	diags = append(diags, d...)
	a.Context, a.ContextRange, d = l.pathAttr(attrs, "context", rb.rng)
	diags = append(diags, d...)
	if !diags.HasErrors() {
		diags = append(diags, checkImage(a, attrs, l.unknown, rb.rng)...)
	}
	if a.Context == "" && a.Dockerfile != "" {
		a.Context, a.ContextRange = filepath.Dir(a.Dockerfile), a.DockerfileRange
	}
	a.Transcript, a.TranscriptRange, d = l.stringAttr(attrs, "transcript", ctx, rb.rng)
	diags = append(diags, d...)
	a.User, _, d = l.stringAttr(attrs, "user", ctx, rb.rng)
	diags = append(diags, d...)
	if w, r, d := l.stringAttr(attrs, "workdir", ctx, rb.rng); w != "" {
		a.Workdir, a.workdirRange = w, r
	} else {
		diags = append(diags, d...) // a broken workdir keeps the default, so nothing else trips on it
	}

	a.command, d = l.launchExpr(attrs["command"], rb.rng)
	diags = append(diags, d...)
	a.resumeCommand, d = l.launchExpr(attrs["resume_command"], rb.rng)
	diags = append(diags, d...)
	a.env, d = l.launchExpr(attrs["env"], rb.rng)
	diags = append(diags, d...)
	if a.command != nil {
		a.CommandRange = a.command.Range()
	}
	diags = append(diags, l.agentContainment(rb, a)...)
	return a, diags
}

// launchExpr keeps a launch-time argument (command, resume_command, env) as
// an expression, after checking it with unknown session values so that a
// mistake shows up in validate and plan rather than at launch.
func (l *loader) launchExpr(attr *hcl.Attribute, within hcl.Range) (hcl.Expression, hcl.Diagnostics) {
	if attr == nil {
		return nil, nil
	}
	diags := l.checkRefs(attr.Expr, true, within)
	if diags.HasErrors() {
		return nil, diags
	}
	ctx := l.cfg.ctx.NewChild()
	ctx.Variables = map[string]cty.Value{rootSession: Session{}.value()}
	var d hcl.Diagnostics
	if attr.Name == "env" {
		_, d = evalEnv(attr.Expr, ctx, within)
	} else {
		_, d = evalCommand(attr.Expr, attr.Name, ctx, within)
	}
	return attr.Expr, append(diags, d...)
}

// pathAttr decodes an optional path argument, resolved against the folder of
// the config file. Null means unset; "" is an error.
func (l *loader) pathAttr(attrs hcl.Attributes, name string, within hcl.Range) (string, hcl.Range, hcl.Diagnostics) {
	p, rng, diags := l.stringAttr(attrs, name, l.cfg.ctx, within)
	if p == "" {
		if rng != (hcl.Range{}) {
			diags = append(diags, emptyDiag(attrs[name], "a path", within))
		}
		return "", rng, diags
	}
	return resolvePath(l.cfg.Dir, p), rng, diags
}

// emptyDiag reports an argument set to "".
func emptyDiag(a *hcl.Attribute, want string, within hcl.Range) *hcl.Diagnostic {
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Empty " + a.Name,
		Detail:   a.Name + " is empty. Set it to " + want + ", or remove it.",
		Subject:  a.Expr.Range().Ptr(),
		Context:  within.Ptr(),
	}
}

// checkImage checks that exactly one of image and dockerfile is set (null
// counts as unset, unknown as set), and context only with dockerfile.
func checkImage(a *Agent, attrs hcl.Attributes, unknown map[*hcl.Attribute]bool, within hcl.Range) hcl.Diagnostics {
	set := func(name string, r hcl.Range) bool {
		return r != (hcl.Range{}) || (attrs[name] != nil && unknown[attrs[name]])
	}
	hasImage, hasDockerfile := set("image", a.ImageRange), set("dockerfile", a.DockerfileRange)
	diag := &hcl.Diagnostic{Severity: hcl.DiagError, Context: within.Ptr()}
	switch {
	case hasImage && hasDockerfile:
		later := attrs["dockerfile"]
		if attrs["image"].Range.Start.Byte > later.Range.Start.Byte {
			later = attrs["image"]
		}
		diag.Summary = "Conflicting image and dockerfile"
		diag.Detail = "An agent runs either an existing image or one built from a Dockerfile, not both. Remove image or dockerfile."
		diag.Subject = later.NameRange.Ptr()
	case !hasImage && !hasDockerfile:
		diag.Summary = "Missing agent image"
		diag.Detail = "Set image = \"name:tag\" to run an existing image, or dockerfile = \"path/to/Dockerfile\" to build one."
		diag.Subject = a.DeclRange.Ptr()
	case set("context", a.ContextRange) && !hasDockerfile:
		diag.Summary = "Context without dockerfile"
		diag.Detail = "context is the build context of dockerfile. Set dockerfile as well, or remove context."
		diag.Subject = attrs["context"].NameRange.Ptr()
	default:
		return nil
	}
	return hcl.Diagnostics{diag}
}
