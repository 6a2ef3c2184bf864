package config

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// markKind is the type of the cty marks this package sets.
type markKind string

// sensitive marks values derived from sensitive variables and from env().
// Marks survive operators and function calls, so Launch can tell which
// results must never be printed.
const sensitive markKind = "sensitive"

// Session attribute names.
const (
	sessionID       = "id"
	sessionIdentity = "identity"
)

// evalContext returns a fresh context with var, local and the functions.
func (l *loader) evalContext() *hcl.EvalContext {
	return &hcl.EvalContext{
		Variables: map[string]cty.Value{
			rootVar:   cty.ObjectVal(l.varVals),
			rootLocal: cty.ObjectVal(l.localVals),
		},
		Functions: l.funcs,
	}
}

// checkRefs checks every reference of expr before it is evaluated, so that a
// bad reference gets a message in this language's words (and a "did you
// mean") rather than HCL's generic "Unsupported attribute". within is the
// enclosing block, the diagnostics' Context.
func (l *loader) checkRefs(expr hcl.Expression, allowSession bool, within hcl.Range) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, t := range expr.Variables() {
		summary, detail := l.checkRef(t, allowSession)
		if summary == "" {
			continue
		}
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  summary,
			Detail:   detail,
			Subject:  t.SourceRange().Ptr(),
			Context:  within.Ptr(),
		})
	}
	return diags
}

// checkRef returns the summary and detail of what is wrong with t, or "".
func (l *loader) checkRef(t hcl.Traversal, allowSession bool) (string, string) {
	root := t.RootName()
	name, hasName := stepName(t)
	switch root {
	case rootVar, rootLocal:
		what, declared := "input variable", sortedKeys(l.vars)
		_, ok := l.vars[name]
		if root == rootLocal {
			what, declared = "local value", sortedKeys(l.localDecl)
			_, ok = l.localDecl[name]
		}
		switch {
		case !hasName:
			return "Invalid reference", fmt.Sprintf("%s cannot be used on its own: write %s.NAME to use one %s.", root, root, what)
		case !ok && root == rootVar:
			return "Reference to undeclared input variable",
				fmt.Sprintf("There is no variable named %q.%s Declare it with a variable %q block.", name, didYouMean(name, declared), name)
		case !ok:
			return "Reference to undeclared local value",
				fmt.Sprintf("There is no local value named %q.%s Declare it in a locals block.", name, didYouMean(name, declared))
		}
	case rootSession:
		switch {
		case !allowSession:
			return "Session values not allowed here",
				"session.id and session.identity are known only when a bottle launches, so they can be used only in an agent's command, resume_command and env, and in a bottle's env."
		case !hasName:
			return "Invalid reference", "session cannot be used on its own: write session.id or session.identity."
		case name != sessionID && name != sessionIdentity:
			return "Unsupported session attribute",
				fmt.Sprintf("A session has no attribute %q.%s Its attributes are id (the session UUID) and identity (the bottle identity).",
					name, didYouMean(name, []string{sessionID, sessionIdentity}))
		}
	case rootAgent:
		return "Invalid reference", "agent.NAME can be used only as the agent argument of a bottle block."
	default:
		return "Invalid reference",
			fmt.Sprintf("There is no value named %q. A reference starts with var., local. or session.", root)
	}
	return "", ""
}

// stepName returns the name after the root of t: the attribute of root.NAME
// or the key of root["NAME"].
func stepName(t hcl.Traversal) (string, bool) {
	if len(t) < 2 {
		return "", false
	}
	switch step := t[1].(type) {
	case hcl.TraverseAttr:
		return step.Name, true
	case hcl.TraverseIndex:
		if step.Key.Type() == cty.String && step.Key.IsKnown() && !step.Key.IsNull() {
			return step.Key.AsString(), true
		}
	}
	return "", false
}

// decodeAttr evaluates an attribute that must not use session values and
// converts it to ty. The result is unmarked and known; null means unset.
func (l *loader) decodeAttr(a *hcl.Attribute, ty cty.Type, ctx *hcl.EvalContext, within hcl.Range) (cty.Value, hcl.Diagnostics) {
	diags := l.checkRefs(a.Expr, false, within)
	if diags.HasErrors() {
		return cty.NullVal(ty), diags
	}
	val, diags := a.Expr.Value(ctx)
	if diags.HasErrors() {
		return cty.NullVal(ty), diags
	}
	val, _ = val.UnmarkDeep()
	conv, err := convert.Convert(val, ty)
	switch {
	case err != nil:
		return cty.NullVal(ty), append(diags, &hcl.Diagnostic{
			Severity:    hcl.DiagError,
			Summary:     "Incorrect attribute value type",
			Detail:      fmt.Sprintf("Inappropriate value for argument %q: %s.", a.Name, err),
			Subject:     a.Expr.Range().Ptr(),
			Context:     within.Ptr(),
			Expression:  a.Expr,
			EvalContext: ctx,
		})
	case !conv.IsWhollyKnown():
		// Only a variable without a value, or one whose error is reported
		// already, makes a load-time value unknown: the argument then
		// counts as set, and the checks that need its value are skipped.
		l.unknown[a] = true
		if unset := l.unsetRefs(a.Expr); len(unset) > 0 && l.opts.Unset == UnsetLaunch {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "No value for required variable",
				Detail: fmt.Sprintf("%s needs the value of var.%s when the configuration is loaded, and it has no default. Set it with --var %s=VALUE, in a --var-file, or with the environment variable %s%s, or give it a default.",
					a.Name, unset[0], unset[0], envVarPrefix, unset[0]),
				Subject: a.Expr.Range().Ptr(),
				Context: within.Ptr(),
			})
		}
		return cty.NullVal(ty), diags
	}
	return conv, diags
}

// unsetRefs lists the variables without a value that expr depends on,
// directly or through local values, in sorted order.
func (l *loader) unsetRefs(expr hcl.Expression) []string {
	found := map[string]bool{}
	seen := map[string]bool{}
	var walk func(hcl.Expression)
	walk = func(e hcl.Expression) {
		for _, t := range e.Variables() {
			name, ok := stepName(t)
			switch {
			case !ok:
			case t.RootName() == rootVar && l.unset[name]:
				found[name] = true
			case t.RootName() == rootLocal && !seen[name] && l.localDecl[name] != nil:
				seen[name] = true
				walk(l.localDecl[name].Expr)
			}
		}
	}
	walk(expr)
	return sortedKeys(found)
}

// stringAttr decodes an optional string attribute; absent or null gives ""
// and an empty range.
func (l *loader) stringAttr(attrs hcl.Attributes, name string, ctx *hcl.EvalContext, within hcl.Range) (string, hcl.Range, hcl.Diagnostics) {
	a := attrs[name]
	if a == nil {
		return "", hcl.Range{}, nil
	}
	val, diags := l.decodeAttr(a, cty.String, ctx, within)
	if val.IsNull() {
		return "", hcl.Range{}, diags // null means unset, as in terraform
	}
	return val.AsString(), a.Expr.Range(), diags
}

// stringListAttr decodes an optional list of strings; null elements are errors.
func (l *loader) stringListAttr(attrs hcl.Attributes, name string, ctx *hcl.EvalContext, within hcl.Range) ([]string, hcl.Diagnostics) {
	a := attrs[name]
	if a == nil {
		return nil, nil
	}
	val, diags := l.decodeAttr(a, cty.List(cty.String), ctx, within)
	if val.IsNull() {
		return nil, diags
	}
	var out []string
	for i, e := range val.AsValueSlice() {
		if e.IsNull() {
			return nil, append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Null list element",
				Detail:   fmt.Sprintf("Element %d of %q is null; every element must be a string.", i, name),
				Subject:  a.Expr.Range().Ptr(),
				Context:  within.Ptr(),
			})
		}
		out = append(out, e.AsString())
	}
	return out, diags
}
