package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// TestDiagWriterCarets: the carets sit under the range whatever precedes it
// (tabs, wide characters), every line of a multi-line range is marked from
// its first non-blank, and an empty range still gets one caret.
func TestDiagWriterCarets(t *testing.T) {
	src := "agent \"日本\" {\n\tuser = [\t\"x\",\n    \"y\"]\n}\n"
	rng := func(from, to int) *hcl.Range {
		return &hcl.Range{Filename: "b.hcl", Start: pos(src, from), End: pos(src, to)}
	}
	user := strings.Index(src, "[")
	tests := []struct {
		subject *hcl.Range
		want    string
	}{
		{rng(user, strings.Index(src, "]")+1), "" +
			"  on b.hcl line 2, column 9, in agent \"日本\":\n" +
			"   2: \tuser = [\t\"x\",\n" +
			"      \t       ^^^^^^\n" +
			"   3:     \"y\"]\n" +
			"          ^^^^\n"},
		{rng(6, 14), "" +
			"  on b.hcl line 1, column 7, in agent \"日本\":\n" +
			"   1: agent \"日本\" {\n" +
			"            ^^^^^^\n"},
		{rng(len(src)-1, len(src)-1), "" +
			"  on b.hcl line 4, column 2:\n" +
			"   4: }\n" +
			"       ^\n"},
	}
	for _, tt := range tests {
		var out bytes.Buffer
		newDiagWriter(&out, map[string][]byte{"b.hcl": []byte(src)}, 0, false).write(hcl.Diagnostics{{
			Severity: hcl.DiagError, Summary: "Bad", Detail: "Fix it.", Subject: tt.subject,
		}})
		want := "Error: Bad\n\n" + tt.want + "\nFix it.\n\n"
		if out.String() != want {
			t.Errorf("got\n%s\nwant\n%s", out.String(), want)
		}
	}
}

// TestDiagWriterValues: the values an expression used are shown, except
// sensitive ones.
func TestDiagWriterValues(t *testing.T) {
	src := "x = var.a + var.secret\n"
	expr, diags := hclsyntax.ParseExpression([]byte(src[4:]), "v.hcl", hcl.Pos{Line: 1, Column: 5, Byte: 4})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	ctx := &hcl.EvalContext{Variables: map[string]cty.Value{"var": cty.ObjectVal(map[string]cty.Value{
		"a":      cty.StringVal("plain"),
		"secret": cty.StringVal("hunter2").Mark("sensitive"),
	})}}
	var out bytes.Buffer
	newDiagWriter(&out, map[string][]byte{"v.hcl": []byte(src)}, 0, false).write(hcl.Diagnostics{{
		Severity: hcl.DiagError, Summary: "Bad", Subject: expr.Range().Ptr(), Expression: expr, EvalContext: ctx,
	}})
	if !strings.Contains(out.String(), `with var.a = "plain"`) || !strings.Contains(out.String(), "with var.secret = (sensitive)") ||
		strings.Contains(out.String(), "hunter2") {
		t.Errorf("got\n%s", out.String())
	}
}

// pos is the hcl.Pos of byte offset off in src (columns count characters).
func pos(src string, off int) hcl.Pos {
	p := hcl.Pos{Line: 1, Column: 1, Byte: off}
	for _, r := range src[:off] {
		if r == '\n' {
			p.Line, p.Column = p.Line+1, 1
		} else {
			p.Column++
		}
	}
	return p
}
