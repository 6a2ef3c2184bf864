package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strings"

	"github.com/charmbracelet/x/ansi"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// diagWriter renders diagnostics for people. It does what hcl's
// DiagnosticTextWriter does, plus what that one shows only as colour: the
// column, and a line of carets under the offending range, so the place is
// plain in a log, a CI run or with NO_COLOR:
//
//	Error: Invalid memory size
//
//	  on bottle.hcl line 12, column 14, in bottle "b":
//	  12:     memory = "4 gigs"
//	                   ^^^^^^^^
//
//	"gigs" is not a memory unit. ...
type diagWriter struct {
	w     io.Writer
	files map[string][]byte
	width int  // wrap the detail at this many cells; 0: do not wrap
	color bool // ANSI colour for the severity and the carets
	nav   map[string]interface{ ContextString(int) string }
}

func newDiagWriter(w io.Writer, files map[string][]byte, width int, color bool) *diagWriter {
	return &diagWriter{w: w, files: files, width: width, color: color, nav: map[string]interface{ ContextString(int) string }{}}
}

// write renders every diagnostic, each followed by a blank line.
func (dw *diagWriter) write(diags hcl.Diagnostics) {
	for _, d := range diags {
		dw.writeOne(d)
	}
}

func (dw *diagWriter) writeOne(d *hcl.Diagnostic) {
	severity, code := "Error", "31"
	if d.Severity == hcl.DiagWarning {
		severity, code = "Warning", "33"
	}
	fmt.Fprintf(dw.w, "%s %s\n\n", dw.paint("1;"+code, severity+":"), dw.paint("1", d.Summary))
	if s := d.Subject; s != nil {
		fmt.Fprintf(dw.w, "  on %s line %d, column %d%s:\n", s.Filename, s.Start.Line, s.Start.Column, dw.context(s))
		if src, ok := dw.files[s.Filename]; ok {
			dw.snippet(src, *s, code)
		}
		dw.values(d)
		fmt.Fprintln(dw.w)
	}
	if d.Detail != "" {
		detail := d.Detail
		if dw.width > 0 {
			detail = ansi.Wordwrap(detail, dw.width-1, "")
		}
		fmt.Fprintf(dw.w, "%s\n\n", detail)
	}
}

// context names the top-level block the range is in: `, in bottle "b"`.
func (dw *diagWriter) context(r *hcl.Range) string {
	nav, ok := dw.nav[r.Filename]
	if !ok {
		if src, has := dw.files[r.Filename]; has {
			// A file with syntax errors still yields the blocks it has.
			if f, _ := hclsyntax.ParseConfig(src, r.Filename, hcl.InitialPos); f != nil {
				nav, _ = f.Nav.(interface{ ContextString(int) string })
			}
		}
		dw.nav[r.Filename] = nav
	}
	if nav == nil {
		return ""
	}
	if s := nav.ContextString(r.Start.Byte); s != "" {
		return ", in " + s
	}
	return ""
}

// snippet prints the source lines the range covers, each with carets under
// the part of it that is in the range.
func (dw *diagWriter) snippet(src []byte, subject hcl.Range, code string) {
	sc := hcl.NewRangeScanner(src, subject.Filename, bufio.ScanLines)
	for sc.Scan() {
		line := sc.Range()
		if line.Start.Line < subject.Start.Line || line.Start.Line > subject.End.Line {
			continue
		}
		text := sc.Bytes()
		fmt.Fprintf(dw.w, "%4d: %s\n", line.Start.Line, text)
		from := max(0, subject.Start.Byte-line.Start.Byte)
		to := min(len(text), subject.End.Byte-line.Start.Byte)
		if line.Start.Line != subject.Start.Line {
			from = len(text) - len(bytes.TrimLeft(text, " \t")) // a continuation line's indent is not in the range
		}
		if from > len(text) || (to <= from && line.Start.Line != subject.Start.Line) {
			continue // nothing of this line is in the range
		}
		fmt.Fprintf(dw.w, "      %s%s\n", indentLike(text[:from]), dw.paint(code, carets(text[from:max(from, to)])))
	}
}

// indentLike is blank space as wide as prefix, tabs kept, so that what
// follows it lines up with the text after prefix.
func indentLike(prefix []byte) string {
	var b strings.Builder
	for i, part := range bytes.Split(prefix, []byte("\t")) {
		if i > 0 {
			b.WriteByte('\t')
		}
		b.WriteString(strings.Repeat(" ", ansi.StringWidth(string(part))))
	}
	return b.String()
}

// carets is one caret per cell of the highlighted text, at least one (an
// empty range, such as the end of the file, still gets its mark).
func carets(text []byte) string {
	return strings.Repeat("^", max(1, ansi.StringWidth(strings.ReplaceAll(string(text), "\t", " "))))
}

// values shows the values the expression used, as hcl's writer does, except
// sensitive ones: "with var.x = "y"".
func (dw *diagWriter) values(d *hcl.Diagnostic) {
	if d.Expression == nil || d.EvalContext == nil {
		return
	}
	seen := map[string]bool{}
	for _, t := range d.Expression.Variables() {
		name := traversalString(t)
		if seen[name] {
			continue
		}
		seen[name] = true
		v, diags := t.TraverseAbs(d.EvalContext)
		if diags.HasErrors() {
			continue
		}
		fmt.Fprintf(dw.w, "    with %s = %s\n", name, valueString(v))
	}
}

func traversalString(t hcl.Traversal) string {
	var b strings.Builder
	for _, step := range t {
		switch s := step.(type) {
		case hcl.TraverseRoot:
			b.WriteString(s.Name)
		case hcl.TraverseAttr:
			b.WriteString("." + s.Name)
		case hcl.TraverseIndex:
			b.WriteString("[" + valueString(s.Key) + "]")
		}
	}
	return b.String()
}

// valueString is a short display of v; a sensitive value is never shown.
func valueString(v cty.Value) string {
	switch {
	case v.IsMarked() || v.ContainsMarked():
		return "(sensitive)"
	case !v.IsKnown():
		return "(not known yet)"
	case v.IsNull():
		return "null"
	case v.Type() == cty.String:
		return fmt.Sprintf("%q", v.AsString())
	case v.Type() == cty.Bool:
		return fmt.Sprint(v.True())
	case v.Type() == cty.Number:
		return v.AsBigFloat().Text('g', -1)
	case v.CanIterateElements():
		return fmt.Sprintf("%s of %d elements", v.Type().FriendlyName(), v.LengthInt())
	}
	return v.Type().FriendlyName()
}

func (dw *diagWriter) paint(code, s string) string {
	if !dw.color {
		return s
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}
