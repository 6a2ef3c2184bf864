package config

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// Session holds the late-bound values of one launch. An empty field is
// unknown, as while planning.
type Session struct {
	ID       string // the session UUID, passed again on every resume
	Identity string // the bottle identity, e.g. "fixer-k3x9a"
}

func (s Session) value() cty.Value {
	str := func(v string) cty.Value {
		if v == "" {
			return cty.UnknownVal(cty.String)
		}
		return cty.StringVal(v)
	}
	return cty.ObjectVal(map[string]cty.Value{
		sessionID:       str(s.ID),
		sessionIdentity: str(s.Identity),
	})
}

// Value is one evaluated string of a launch.
type Value struct {
	Value string
	// Known is false when the value depends on a session value that is not
	// known yet; Value is then "".
	Known bool
	// Sensitive is true when the value derives from a sensitive variable or
	// from env(); it must never be printed or stored.
	Sensitive bool
}

// String returns the value for display: "(sensitive)", "(known after
// launch)" or the value itself.
func (v Value) String() string {
	switch {
	case v.Sensitive:
		return "(sensitive)"
	case !v.Known:
		return "(known after launch)"
	}
	return v.Value
}

// Launch is what a bottle runs.
type Launch struct {
	// Command is nil when the agent has no command (the image's own is used).
	// A list whose length depends on an unknown session value comes back as
	// one unknown element.
	Command []Value
	// ResumeCommand is nil when the agent has no resume_command.
	ResumeCommand []Value
	// Env is the agent's env with the bottle's env merged over it.
	Env map[string]Value
}

// Launch evaluates command, resume_command and env with the session values
// of s; a zero Session leaves them unknown, which is what a plan shows.
func (b *Bottle) Launch(s Session) (*Launch, hcl.Diagnostics) {
	if b == nil || b.Agent == nil || b.ctx == nil {
		return nil, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Bottle not loaded",
			Detail:   "Launch needs a bottle from a configuration that loaded without errors.",
		}}
	}
	ctx := b.ctx.NewChild()
	ctx.Variables = map[string]cty.Value{rootSession: s.value()}
	a := b.Agent
	out := &Launch{}
	var diags, d hcl.Diagnostics
	out.Command, d = evalCommand(a.command, "command", ctx, a.rng)
	diags = append(diags, d...)
	out.ResumeCommand, d = evalCommand(a.resumeCommand, "resume_command", ctx, a.rng)
	diags = append(diags, d...)
	agentEnv, d := evalEnv(a.env, ctx, a.rng)
	diags = append(diags, d...)
	bottleEnv, d := evalEnv(b.env, ctx, b.rng)
	diags = append(diags, d...)
	out.Env = agentEnv
	if out.Env == nil {
		out.Env = map[string]Value{}
	}
	for k, v := range bottleEnv {
		out.Env[k] = v
	}
	return out, diags
}

// launchEval is what evalCommand and evalEnv share: the value evaluated and
// unmarked, where its sensitive parts are, and how to report a bad part.
type launchEval struct {
	expr   hcl.Expression
	ctx    *hcl.EvalContext
	within hcl.Range
	diags  hcl.Diagnostics
	val    cty.Value
	all    bool
	keys   map[string]bool
	// done means there is nothing to convert (errors, or a null value).
	done bool
}

// evalLaunch evaluates expr; nil when there is no expression.
func evalLaunch(expr hcl.Expression, ctx *hcl.EvalContext, within hcl.Range) *launchEval {
	if expr == nil {
		return nil
	}
	e := &launchEval{expr: expr, ctx: ctx, within: within}
	val, diags := expr.Value(ctx)
	e.diags = diags
	if diags.HasErrors() || val.IsNull() {
		e.done = true
		return e
	}
	uv, pvm := val.UnmarkDeepWithPaths()
	e.val = uv
	e.all, e.keys = sensitivePaths(pvm)
	return e
}

func (e *launchEval) diagnostics() hcl.Diagnostics {
	if e == nil {
		return nil
	}
	return e.diags
}

// bad is the diagnostics so far plus one error pointing at subject.
func (e *launchEval) bad(summary, detail string, subject hcl.Range) hcl.Diagnostics {
	return append(e.diags, &hcl.Diagnostic{
		Severity:    hcl.DiagError,
		Summary:     summary,
		Detail:      detail,
		Subject:     subject.Ptr(),
		Context:     e.within.Ptr(),
		Expression:  e.expr,
		EvalContext: e.ctx,
	})
}

// evalCommand evaluates a list-of-strings expression of a launch.
func evalCommand(expr hcl.Expression, name string, ctx *hcl.EvalContext, within hcl.Range) ([]Value, hcl.Diagnostics) {
	e := evalLaunch(expr, ctx, within)
	if e == nil || e.done {
		return nil, e.diagnostics()
	}
	diags, bad, uv, all, keys := e.diags, e.bad, e.val, e.all, e.keys
	list, err := convert.Convert(uv, cty.List(cty.String))
	if err != nil {
		return nil, bad("Invalid "+name,
			fmt.Sprintf("%s must be a list of strings, such as [\"claude\", \"-p\", var.task]: %s.", name, err), badElemRange(uv, expr, ctx))
	}
	if !list.IsKnown() {
		return []Value{{Sensitive: all || len(keys) > 0}}, diags
	}
	if list.LengthInt() == 0 {
		return nil, bad("Empty "+name,
			fmt.Sprintf("%s must have at least one element. Remove the argument instead to leave it unset.", name), expr.Range())
	}
	out := make([]Value, 0, list.LengthInt())
	for i, e := range list.AsValueSlice() {
		v := Value{Sensitive: all || keys[strconv.Itoa(i)]}
		switch {
		case !e.IsKnown():
		case e.IsNull():
			return nil, bad("Invalid "+name, fmt.Sprintf("Element %d of %s is null; every element must be a string.", i, name), elemRange(expr, i))
		default:
			v.Value, v.Known = e.AsString(), true
		}
		out = append(out, v)
	}
	return out, diags
}

// evalEnv evaluates a map-of-strings expression of a launch. Its names must
// be known when planning; only values may wait for the session.
func evalEnv(expr hcl.Expression, ctx *hcl.EvalContext, within hcl.Range) (map[string]Value, hcl.Diagnostics) {
	e := evalLaunch(expr, ctx, within)
	if e == nil || e.done {
		return nil, e.diagnostics()
	}
	diags, bad, uv, all, keys := e.diags, e.bad, e.val, e.all, e.keys
	m, err := convert.Convert(uv, cty.Map(cty.String))
	if err != nil {
		return nil, bad("Invalid env", fmt.Sprintf("env must be a map of strings, such as { NAME = \"value\" }: %s.", err), badElemRange(uv, expr, ctx))
	}
	if !m.IsKnown() {
		return nil, bad("Env names not known",
			"The names in env must be known before launch; only the values may use session.id and session.identity.", expr.Range())
	}
	out := map[string]Value{}
	for _, k := range sortedKeys(m.AsValueMap()) {
		e := m.Index(cty.StringVal(k))
		if k == "" || strings.ContainsAny(k, "=\x00") {
			return nil, bad("Invalid environment variable name",
				fmt.Sprintf("%q is not a valid environment variable name: it must be non-empty and contain no \"=\".", k), keyRange(expr, ctx, k))
		}
		v := Value{Sensitive: all || keys[k]}
		switch {
		case !e.IsKnown():
		case e.IsNull():
			return nil, bad("Invalid env", fmt.Sprintf("The value of %s is null; use \"\" for an empty value.", k), keyRange(expr, ctx, k))
		default:
			v.Value, v.Known = e.AsString(), true
		}
		out[k] = v
	}
	return out, diags
}

// sensitivePaths reads the sensitive marks of a list or map: all when the
// whole value is marked, else the keys (element indexes as decimal strings)
// whose elements are.
func sensitivePaths(pvm []cty.PathValueMarks) (all bool, keys map[string]bool) {
	keys = map[string]bool{}
	for _, pm := range pvm {
		if _, ok := pm.Marks[sensitive]; !ok {
			continue
		}
		if len(pm.Path) == 0 {
			all = true
			continue
		}
		switch step := pm.Path[0].(type) {
		case cty.GetAttrStep:
			keys[step.Name] = true
		case cty.IndexStep:
			switch {
			case !step.Key.IsKnown() || step.Key.IsNull():
				all = true
			case step.Key.Type() == cty.String:
				keys[step.Key.AsString()] = true
			case step.Key.Type() == cty.Number:
				i, _ := step.Key.AsBigFloat().Int64()
				keys[strconv.FormatInt(i, 10)] = true
			}
		}
	}
	return all, keys
}

// elemRange narrows a diagnostic to element i when expr is written as a
// tuple, such as ["a", var.b].
func elemRange(expr hcl.Expression, i int) hcl.Range {
	if t, ok := expr.(*hclsyntax.TupleConsExpr); ok && i < len(t.Exprs) {
		return t.Exprs[i].Range()
	}
	return expr.Range()
}

// keyRange narrows a diagnostic to the item with key k when expr is written
// as an object, such as { K = "v" }.
func keyRange(expr hcl.Expression, ctx *hcl.EvalContext, k string) hcl.Range {
	o, ok := expr.(*hclsyntax.ObjectConsExpr)
	if !ok {
		return expr.Range()
	}
	for _, item := range o.Items {
		key, diags := item.KeyExpr.Value(ctx)
		if diags.HasErrors() {
			continue
		}
		key, _ = key.UnmarkDeep()
		if key.Type() == cty.String && key.IsKnown() && !key.IsNull() && key.AsString() == k {
			return item.KeyExpr.Range()
		}
	}
	return expr.Range()
}

// badElemRange narrows a failed conversion of v to a list or map of strings
// to the first element or key that is not a string.
func badElemRange(v cty.Value, expr hcl.Expression, ctx *hcl.EvalContext) hcl.Range {
	ty := v.Type()
	if !v.IsKnown() || v.IsNull() || !(ty.IsTupleType() || ty.IsListType() || ty.IsObjectType() || ty.IsMapType()) {
		return expr.Range()
	}
	i := 0
	for it := v.ElementIterator(); it.Next(); i++ {
		k, e := it.Element()
		if _, err := convert.Convert(e, cty.String); err == nil {
			continue
		}
		if k.Type() == cty.String {
			return keyRange(expr, ctx, k.AsString())
		}
		return elemRange(expr, i)
	}
	return expr.Range()
}
