package config

import (
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// local is one local value: its attribute, its block and what it refers to.
type local struct {
	attr  *hcl.Attribute
	block hcl.Range
	deps  []string
	ok    bool // references are valid
}

// locals is the locals stage. A local may refer to variables and to other
// locals; the references form a graph that is evaluated in topological order
// (guide/go_patterns.rst, "Interdependent Blocks"). A cycle is reported on
// every local in it.
func (l *loader) locals(blocks []*rawBlock) hcl.Diagnostics {
	var diags hcl.Diagnostics
	decl := map[string]*local{}
	var order []string
	for _, rb := range blocks {
		for _, a := range sortAttributes(rb.attrs) {
			if first, ok := decl[a.Name]; ok {
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Duplicate local value",
					Detail: fmt.Sprintf("A local value named %q was already declared at %s. Names must be unique: rename or remove one of them.",
						a.Name, posString(first.attr.NameRange)),
					Subject: a.NameRange.Ptr(),
					Context: rb.rng.Ptr(),
				})
				continue
			}
			decl[a.Name] = &local{attr: a, block: rb.rng}
			l.localDecl[a.Name] = a
			order = append(order, a.Name)
		}
	}
	for _, name := range order {
		lc := decl[name]
		d := l.checkRefs(lc.attr.Expr, false, lc.block)
		diags = append(diags, d...)
		lc.ok = !d.HasErrors()
		for _, t := range lc.attr.Expr.Variables() {
			if t.RootName() != rootLocal {
				continue
			}
			if dep, ok := stepName(t); ok && decl[dep] != nil {
				lc.deps = append(lc.deps, dep)
			}
		}
	}
	ctx := l.evalContext()
	failed := map[string]bool{}
	for _, scc := range components(order, decl) {
		if len(scc) > 1 || contains(decl[scc[0]].deps, scc[0]) {
			diags = append(diags, cycleDiags(scc, decl)...)
			for _, name := range scc {
				l.localVals[name] = cty.DynamicVal
				failed[name] = true
			}
			continue
		}
		name := scc[0]
		lc := decl[name]
		val := cty.DynamicVal
		failed[name] = true
		if lc.ok && !anyOf(lc.deps, failed) {
			ctx.Variables[rootLocal] = cty.ObjectVal(l.localVals)
			v, d := lc.attr.Expr.Value(ctx)
			diags = append(diags, d...)
			if !d.HasErrors() {
				val, failed[name] = v, false
			}
		}
		l.localVals[name] = val
	}
	return diags
}

// anyOf says whether one of names is in set. A local whose dependency failed
// is not evaluated, so that an error is reported once, where it happens, and
// not again in every local that depends on it.
func anyOf(names []string, set map[string]bool) bool {
	for _, n := range names {
		if set[n] {
			return true
		}
	}
	return false
}

func cycleDiags(scc []string, decl map[string]*local) hcl.Diagnostics {
	names := make([]string, len(scc))
	for i, n := range scc {
		names[i] = "local." + n
	}
	var diags hcl.Diagnostics
	for _, n := range scc {
		lc := decl[n]
		detail := fmt.Sprintf("local.%s refers to itself.", n)
		if len(scc) > 1 {
			detail = fmt.Sprintf("local.%s is part of a cycle: %s refer to each other.", n, strings.Join(names, ", "))
		}
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Cycle in local values",
			Detail:   detail + " A local value cannot depend on itself; break the cycle by computing one of them from variables only.",
			Subject:  lc.attr.NameRange.Ptr(),
			Context:  lc.block.Ptr(),
		})
	}
	return diags
}

// components returns the strongly connected components of the locals graph
// (Tarjan's algorithm), dependencies before the locals that use them. Each
// component lists its members in source order.
func components(order []string, decl map[string]*local) [][]string {
	index := map[string]int{}
	low := map[string]int{}
	onStack := map[string]bool{}
	var stack []string
	var out [][]string
	var visit func(n string)
	visit = func(n string) {
		index[n] = len(index)
		low[n] = index[n]
		stack = append(stack, n)
		onStack[n] = true
		for _, d := range decl[n].deps {
			if _, seen := index[d]; !seen {
				visit(d)
				low[n] = min(low[n], low[d])
			} else if onStack[d] {
				low[n] = min(low[n], index[d])
			}
		}
		if low[n] != index[n] {
			return
		}
		members := map[string]bool{}
		for {
			top := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			onStack[top] = false
			members[top] = true
			if top == n {
				break
			}
		}
		var scc []string
		for _, name := range order {
			if members[name] {
				scc = append(scc, name)
			}
		}
		out = append(out, scc)
	}
	for _, n := range order {
		if _, seen := index[n]; !seen {
			visit(n)
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
