package dashboard

import (
	"io"

	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"

	"github.com/bottle-dev/bottle/runner"
)

// NewRenderer returns the renderer for a dashboard drawn on w. With noColor
// (NO_COLOR is set) it uses the Ascii profile: no colour and no other
// attributes, so the screen carries no styling escapes at all.
func NewRenderer(w io.Writer, noColor bool) *lipgloss.Renderer {
	r := lipgloss.NewRenderer(w)
	if noColor {
		r.SetColorProfile(termenv.Ascii)
	}
	return r
}

func asciiRenderer() *lipgloss.Renderer { return NewRenderer(io.Discard, true) }

type styles struct {
	plain, bold, dim, accent, selected lipgloss.Style
	ok, warn, bad                      lipgloss.Style
}

func newStyles(r *lipgloss.Renderer) styles {
	return styles{
		plain:    r.NewStyle(),
		bold:     r.NewStyle().Bold(true),
		dim:      r.NewStyle().Faint(true),
		accent:   r.NewStyle().Foreground(lipgloss.ANSIColor(5)).Bold(true),
		selected: r.NewStyle().Reverse(true),
		ok:       r.NewStyle().Foreground(lipgloss.ANSIColor(2)),
		warn:     r.NewStyle().Foreground(lipgloss.ANSIColor(3)),
		bad:      r.NewStyle().Foreground(lipgloss.ANSIColor(1)).Bold(true),
	}
}

// state is the style of a bottle state in the table.
func (s styles) state(st string) lipgloss.Style {
	switch st {
	case runner.StatusRunning:
		return s.ok
	case runner.StatusPreserved:
		return s.warn
	case runner.StatusError:
		return s.bad
	case runner.StatusExited:
		return s.dim
	}
	return s.plain
}
