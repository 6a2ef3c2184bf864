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

	image, dockerfile := attrs["image"], attrs["dockerfile"]
	switch {
	case image != nil && dockerfile != nil:
		later := dockerfile
		if image.Range.Start.Byte > dockerfile.Range.Start.Byte {
			later = image
		}
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Conflicting image and dockerfile",
			Detail:   "An agent runs either an existing image or one built from a Dockerfile, not both. Remove image or dockerfile.",
			Subject:  later.NameRange.Ptr(),
			Context:  rb.rng.Ptr(),
		})
	case image == nil && dockerfile == nil:
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Missing agent image",
			Detail:   "Set image = \"name:tag\" to run an existing image, or dockerfile = \"path/to/Dockerfile\" to build one.",
			Subject:  rb.block.DefRange.Ptr(),
			Context:  rb.rng.Ptr(),
		})
	}
	if c := attrs["context"]; c != nil && dockerfile == nil {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Context without dockerfile",
			Detail:   "context is the build context of dockerfile. Set dockerfile as well, or remove context.",
			Subject:  c.NameRange.Ptr(),
			Context:  rb.rng.Ptr(),
		})
	}

	a.Image, a.ImageRange, d = l.stringAttr(attrs, "image", ctx, rb.rng)
	diags = append(diags, d...)
	if image != nil && a.Image == "" && !d.HasErrors() {
		diags = append(diags, emptyDiag(image, "an image reference such as \"node:22-bookworm-slim\"", rb.rng))
	}
	a.Dockerfile, a.DockerfileRange, d = l.pathAttr(attrs, "dockerfile", rb.rng)
	diags = append(diags, d...)
	a.Context, a.ContextRange, d = l.pathAttr(attrs, "context", rb.rng)
	diags = append(diags, d...)
	if a.Context == "" && a.Dockerfile != "" {
		a.Context, a.ContextRange = filepath.Dir(a.Dockerfile), a.DockerfileRange
	}
	a.Transcript, a.TranscriptRange, d = l.stringAttr(attrs, "transcript", ctx, rb.rng)
	diags = append(diags, d...)
	a.User, _, d = l.stringAttr(attrs, "user", ctx, rb.rng)
	diags = append(diags, d...)
	if w, r, d := l.stringAttr(attrs, "workdir", ctx, rb.rng); w != "" || d.HasErrors() {
		a.Workdir, a.workdirRange = w, r
		diags = append(diags, d...)
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
// the config file.
func (l *loader) pathAttr(attrs hcl.Attributes, name string, within hcl.Range) (string, hcl.Range, hcl.Diagnostics) {
	p, rng, diags := l.stringAttr(attrs, name, l.cfg.ctx, within)
	if p == "" {
		if attrs[name] != nil && !diags.HasErrors() {
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
