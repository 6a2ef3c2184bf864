package config

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/typeexpr"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// Variable is a variable block with its final value.
type Variable struct {
	Name        string
	Description string
	// Sensitive variables are shown as "(sensitive)"; values derived from
	// them come out of Bottle.Launch with Sensitive set.
	Sensitive bool
	// Type is the type constraint; cty.DynamicPseudoType when none is given.
	Type cty.Type
	// Value is the final value, converted to Type and unmarked.
	Value cty.Value
	// Source says which input gave the value.
	Source    VarSource
	DeclRange hcl.Range

	typed    bool // type given explicitly
	defaults *typeexpr.Defaults
	set      bool
	broken   bool // the declaration has errors
	given    bool // a value was given, valid or not
	block    *rawBlock
}

// VarSource is where a variable's value came from; later sources win.
type VarSource string

// The sources of a variable value, lowest precedence first.
const (
	SourceDefault VarSource = "default"
	SourceEnv     VarSource = "env"      // BOTTLE_VAR_<name>
	SourceVarFile VarSource = "var-file" // --var-file
	SourceFlag    VarSource = "var"      // --var
)

// envVarPrefix prefixes the environment variables that set variables.
const envVarPrefix = "BOTTLE_VAR_"

// variables is the variables stage: declarations, then values in order of
// precedence: default < BOTTLE_VAR_<name> < --var-file < --var.
func (l *loader) variables(blocks []*rawBlock) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, rb := range blocks {
		v, d := l.decodeVariable(rb)
		diags = append(diags, d...)
		l.vars[v.Name] = v
	}
	for _, name := range sortedKeys(l.vars) {
		raw, ok := l.env(envVarPrefix + name)
		if !ok {
			continue
		}
		v := l.vars[name]
		v.given = true
		val, d := v.parseRaw(raw, "<environment variable "+envVarPrefix+name+">")
		diags = append(diags, d...)
		if !d.HasErrors() {
			diags = append(diags, v.assign(val, SourceEnv, nil, "the environment variable "+envVarPrefix+name)...)
		}
	}
	for _, path := range l.opts.VarFiles {
		diags = append(diags, l.varFile(path)...)
	}
	for _, name := range sortedKeys(l.opts.Vars) {
		v, ok := l.vars[name]
		if !ok {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Value for undeclared variable",
				Detail: fmt.Sprintf("--var sets %q, but the configuration declares no variable %q.%s Declare it with a variable block, or remove the option.",
					name, name, didYouMean(name, sortedKeys(l.vars))),
			})
			continue
		}
		v.given = true
		val, d := v.parseRaw(l.opts.Vars[name], "<value for var."+name+">")
		diags = append(diags, d...)
		if !d.HasErrors() {
			diags = append(diags, v.assign(val, SourceFlag, nil, "--var "+name)...)
		}
	}
	for _, name := range sortedKeys(l.vars) {
		v := l.vars[name]
		val := v.Value
		if !v.set {
			// Unknown, so that whatever refers to it is checked as far as
			// it can be and reports nothing more about it.
			val = cty.UnknownVal(v.Type)
			switch {
			case v.broken || v.given:
				// Its declaration or a value is wrong: reported already.
			case l.opts.Unset == UnsetError:
				diags = append(diags, unsetDiag(v, "has no default"))
			default:
				l.unset[name] = true
			}
		} else {
			l.cfg.Variables = append(l.cfg.Variables, v)
		}
		if v.Sensitive {
			val = val.Mark(sensitive)
		}
		l.varVals[name] = val
	}
	return diags
}

// unsetDiag reports a variable that needs a value and has none.
func unsetDiag(v *Variable, why string) *hcl.Diagnostic {
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "No value for required variable",
		Detail: fmt.Sprintf("The variable %q %s. Set it with --var %s=VALUE, in a --var-file, or with the environment variable %s%s, or give it a default.",
			v.Name, why, v.Name, envVarPrefix, v.Name),
		Subject: v.block.block.LabelRanges[0].Ptr(),
		Context: v.block.rng.Ptr(),
	}
}

func (l *loader) decodeVariable(rb *rawBlock) (*Variable, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	attrs := rb.content.Attributes
	v := &Variable{Name: rb.name(), Type: cty.DynamicPseudoType, DeclRange: rb.block.DefRange, block: rb}
	if a := attrs["type"]; a != nil {
		ty, defaults, d := typeexpr.TypeConstraintWithDefaults(a.Expr)
		diags = append(diags, d...)
		v.Type, v.defaults, v.typed = ty, defaults, !d.HasErrors()
	}
	literal := &hcl.EvalContext{Functions: l.funcs}
	if a := attrs["description"]; a != nil {
		val, _, d := literalAttr(a, cty.String, literal, rb.rng)
		diags = append(diags, d...)
		if !d.HasErrors() && !val.IsNull() {
			v.Description = val.AsString()
		}
	}
	if a := attrs["sensitive"]; a != nil {
		val, _, d := literalAttr(a, cty.Bool, literal, rb.rng)
		diags = append(diags, d...)
		if !d.HasErrors() && !val.IsNull() {
			v.Sensitive = v.Sensitive || val.True()
		}
	}
	if a := attrs["default"]; a != nil {
		val, secret, d := literalAttr(a, cty.DynamicPseudoType, literal, rb.rng)
		diags = append(diags, d...)
		// A default read with env() is as secret as env() results elsewhere.
		v.Sensitive = v.Sensitive || secret
		if !d.HasErrors() {
			diags = append(diags, v.assign(val, SourceDefault, a.Expr.Range().Ptr(), "the default")...)
		}
	}
	v.broken = diags.HasErrors()
	return v, diags
}

// literalAttr evaluates an attribute that may call functions but may not
// reference anything, and converts it to ty. The value comes back unmarked;
// secret says whether it was marked sensitive.
func literalAttr(a *hcl.Attribute, ty cty.Type, ctx *hcl.EvalContext, within hcl.Range) (val cty.Value, secret bool, diags hcl.Diagnostics) {
	if refs := a.Expr.Variables(); len(refs) > 0 {
		return cty.DynamicVal, false, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Variables not allowed",
			Detail:   fmt.Sprintf("The %s argument must be a literal value: it is read before any variable or local value exists.", a.Name),
			Subject:  refs[0].SourceRange().Ptr(),
			Context:  within.Ptr(),
		}}
	}
	val, diags = a.Expr.Value(ctx)
	if diags.HasErrors() {
		return cty.DynamicVal, false, diags
	}
	val, marks := val.UnmarkDeep()
	_, secret = marks[sensitive]
	conv, err := convert.Convert(val, ty)
	if err != nil {
		return cty.DynamicVal, secret, append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Incorrect attribute value type",
			Detail:   fmt.Sprintf("Inappropriate value for argument %q: %s.", a.Name, err),
			Subject:  a.Expr.Range().Ptr(),
			Context:  within.Ptr(),
		})
	}
	return conv, secret, diags
}

// parseRaw turns a string from the command line or the environment into a
// value: as it is for untyped and primitive variables, as an HCL expression
// otherwise (terraform's rule).
func (v *Variable) parseRaw(raw, filename string) (cty.Value, hcl.Diagnostics) {
	if !v.typed || v.Type.IsPrimitiveType() {
		return cty.StringVal(raw), nil
	}
	expr, diags := hclsyntax.ParseExpression([]byte(raw), filename, hcl.InitialPos)
	if diags.HasErrors() {
		return cty.DynamicVal, diags
	}
	if refs := expr.Variables(); len(refs) > 0 {
		return cty.DynamicVal, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Variables not allowed",
			Detail:   fmt.Sprintf("The value for var.%s must be a literal value.", v.Name),
			Subject:  refs[0].SourceRange().Ptr(),
		}}
	}
	val, d := expr.Value(nil)
	return val, append(diags, d...)
}

// assign sets the variable to val from source, converting it to the type.
func (v *Variable) assign(val cty.Value, source VarSource, subject *hcl.Range, from string) hcl.Diagnostics {
	if v.defaults != nil {
		val = v.defaults.Apply(val)
	}
	conv, err := convert.Convert(val, v.Type)
	if err != nil {
		return hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Invalid value for variable",
			Detail: fmt.Sprintf("The value of var.%s from %s is not a %s: %s. Give a value of that type.",
				v.Name, from, typeexpr.TypeString(v.Type), err),
			Subject: subject,
			Context: v.block.rng.Ptr(),
		}}
	}
	v.Value, v.Source, v.set = conv, source, true
	return nil
}

// varFile reads one --var-file: attributes of name = literal value.
func (l *loader) varFile(path string) hcl.Diagnostics {
	src, err := os.ReadFile(path)
	if err != nil {
		return hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Cannot read variables file",
			Detail:   fmt.Sprintf("Reading the --var-file %s failed: %s.", path, err),
		}}
	}
	if abs, err := filepath.Abs(path); err == nil {
		l.files.add(abs)
	}
	file, diags := l.parser.ParseHCL(src, filepath.Clean(path))
	if diags.HasErrors() {
		return diags
	}
	attrs, diags := file.Body.JustAttributes()
	for _, a := range sortAttributes(attrs) {
		v, ok := l.vars[a.Name]
		if !ok {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagWarning,
				Summary:  "Value for undeclared variable",
				Detail: fmt.Sprintf("The configuration declares no variable %q, so this value is ignored.%s",
					a.Name, didYouMean(a.Name, sortedKeys(l.vars))),
				Subject: a.NameRange.Ptr(),
			})
			continue
		}
		v.given = true
		val, _, d := literalAttr(a, cty.DynamicPseudoType, nil, a.Range)
		diags = append(diags, d...)
		if !d.HasErrors() {
			diags = append(diags, v.assign(val, SourceVarFile, a.Expr.Range().Ptr(), "the var file")...)
		}
	}
	return diags
}

// didYouMean suggests the closest of options to name, as a sentence.
func didYouMean(name string, options []string) string {
	best, bestDist := "", len(name)/2+2
	for _, o := range options {
		if d := levenshtein(strings.ToLower(name), strings.ToLower(o)); d < bestDist {
			best, bestDist = o, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" Did you mean %q?", best)
}

// levenshtein is the edit distance between a and b, counted in bytes.
func levenshtein(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = slices.Min([]int{prev[j] + 1, cur[j-1] + 1, prev[j-1] + cost})
		}
		prev = cur
	}
	return prev[len(b)]
}
