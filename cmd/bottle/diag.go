package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/hashicorp/hcl/v2"
	"golang.org/x/term"

	"github.com/bottle-dev/bottle/runner"
)

// printDiagnostics renders diags with source snippets and carets on stderr
// (diag_text.go). sources
// maps file names to their bytes; files it lacks are read from disk.
func (a *app) printDiagnostics(diags hcl.Diagnostics, sources map[string][]byte) {
	files := map[string][]byte{}
	for name, src := range sources {
		files[name] = src
	}
	for _, d := range diags {
		if d.Subject == nil || d.Subject.Filename == "" {
			continue
		}
		if _, ok := files[d.Subject.Filename]; ok {
			continue
		}
		if src, err := readLimited(d.Subject.Filename, 4<<20); err == nil {
			files[d.Subject.Filename] = src
		}
	}
	width := 0
	if f, ok := a.Err.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		if w, _, err := term.GetSize(int(f.Fd())); err == nil && w > 0 {
			width = w
		}
	}
	newDiagWriter(a.Err, files, width, a.color()).write(diags)
}

func readLimited(path string, n int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, n))
}

// color reports whether stderr gets ANSI colour: only on a terminal, and
// never with NO_COLOR set.
func (a *app) color() bool {
	if a.getenv("NO_COLOR") != "" {
		return false
	}
	f, ok := a.Err.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func configErrorDiag(ce *runner.ConfigError) hcl.Diagnostics {
	rng := ce.Range
	return hcl.Diagnostics{{
		Severity: hcl.DiagError,
		Summary:  "Launch failed",
		Detail:   ce.Err.Error(),
		Subject:  &rng,
	}}
}

// jsonDiagnostic is a diagnostic in terraform's JSON shape.
type jsonDiagnostic struct {
	Severity string     `json:"severity"`
	Summary  string     `json:"summary"`
	Detail   string     `json:"detail,omitempty"`
	Range    *jsonRange `json:"range,omitempty"`
}

type jsonRange struct {
	Filename string  `json:"filename"`
	Start    jsonPos `json:"start"`
	End      jsonPos `json:"end"`
}

type jsonPos struct {
	Line   int `json:"line"`
	Column int `json:"column"`
	Byte   int `json:"byte"`
}

func toJSONDiagnostics(diags hcl.Diagnostics) []jsonDiagnostic {
	out := []jsonDiagnostic{}
	for _, d := range diags {
		jd := jsonDiagnostic{Severity: "error", Summary: d.Summary, Detail: d.Detail}
		if d.Severity == hcl.DiagWarning {
			jd.Severity = "warning"
		}
		if r := d.Subject; r != nil {
			jd.Range = &jsonRange{
				Filename: r.Filename,
				Start:    jsonPos{r.Start.Line, r.Start.Column, r.Start.Byte},
				End:      jsonPos{r.End.Line, r.End.Column, r.End.Byte},
			}
		}
		out = append(out, jd)
	}
	return out
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("write JSON: %w", err)
	}
	return nil
}
