package dashboard

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
	"github.com/muesli/termenv"
)

// View draws exactly the terminal's height in lines, none wider than its
// width, so nothing ever wraps or scrolls the screen.
func (m Model) View() string {
	var lines []string
	if m.mode == modeLogs {
		lines = m.logsView()
	} else {
		lines = m.mainView()
	}
	if len(lines) > m.height {
		lines = lines[:m.height]
	}
	for len(lines) < m.height {
		lines = append(lines, "")
	}
	for i, l := range lines {
		if ansi.StringWidth(l) > m.width {
			lines[i] = ansi.Truncate(l, m.width, "")
		}
	}
	return strings.Join(lines, "\n")
}

func (m Model) mainView() []string {
	bottom := m.bottomLines()
	avail := m.height - 1 - len(bottom)
	table := m.tableLines(max(1, min(len(m.rows), (avail-1)*2/5)))
	lines := append([]string{m.headerLine()}, table...)
	rest := avail - len(table)
	if m.mode == modeHelp {
		lines = append(lines, m.helpLines(rest)...)
	} else {
		lines = append(lines, m.detailLines(rest)...)
	}
	for len(lines) < m.height-len(bottom) {
		lines = append(lines, "")
	}
	return append(lines, bottom...)
}

func (m Model) headerLine() string {
	s := m.styles
	parts := []string{s.bold.Render("bottle dashboard")}
	if m.loaded {
		parts = append(parts, plural(len(m.rows), "bottle"), plural(m.pendingTotal(), "pending request"))
	}
	if !m.watching && m.opts.Changes != nil {
		parts = append(parts, s.warn.Render("file watch off, polling"))
	}
	if m.refreshErr != nil {
		parts = append(parts, s.bad.Render("refresh failed: "+clean(m.refreshErr.Error())))
	}
	return strings.Join(parts, "  ")
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return strconv.Itoa(n) + " " + what + "s"
}

var tableTitles = []string{"IDENTITY", "BOTTLE", "AGENT", "BACKEND", "STATE", "AGE", "REQ"}

// shrinkable columns give up width, widest first, down to these minimums,
// when the table does not fit.
var minWidths = []int{12, 6, 5, 7, 5, 3, 3}

// tableLines renders the column titles and up to n rows around the cursor.
func (m Model) tableLines(n int) []string {
	s := m.styles
	if !m.loaded {
		return []string{s.dim.Render("  loading…")}
	}
	if len(m.rows) == 0 {
		return []string{s.dim.Render("  No bottles. Launch one with bottle apply; this view updates by itself.")}
	}
	now := m.opts.Now()
	cells := make([][]string, len(m.rows))
	for i, r := range m.rows {
		cells[i] = []string{clean(r.Identity), dash(clean(r.Bottle)), dash(clean(r.Agent)), dash(r.Backend),
			r.State, age(r.StartedAt, now), strconv.Itoa(len(m.requests[r.Identity]))}
	}
	widths := columnWidths(cells, m.width-2)
	row := func(c []string) string {
		out := make([]string, len(c))
		for i := range c {
			out[i] = pad(c[i], widths[i])
		}
		return strings.TrimRight(strings.Join(out, "  "), " ")
	}
	lines := []string{s.bold.Render("  " + row(tableTitles))}
	start := max(0, min(m.cursor-n/2, len(m.rows)-n))
	for i := start; i < min(len(m.rows), start+n); i++ {
		text := row(cells[i])
		if i == m.cursor {
			if m.opts.Renderer.ColorProfile() != termenv.Ascii {
				text = pad(text, m.width-2) // a full-width bar
			}
			lines = append(lines, s.selected.Render("> "+text))
			continue
		}
		// Colour only the state and request cells, after padding, so the
		// escapes never count towards the widths.
		parts := make([]string, 0, len(cells[i]))
		for j, c := range cells[i] {
			cell := pad(c, widths[j])
			if j == len(cells[i])-1 {
				cell = strings.TrimRight(cell, " ")
			}
			switch {
			case j == 4:
				cell = s.state(c).Render(cell)
			case j == 6 && c != "0":
				cell = s.accent.Render(cell)
			}
			parts = append(parts, cell)
		}
		lines = append(lines, "  "+strings.Join(parts, "  "))
	}
	return lines
}

// columnWidths fits the natural column widths into total cells, taking
// width from the widest shrinkable column first.
func columnWidths(cells [][]string, total int) []int {
	w := make([]int, len(tableTitles))
	for i, t := range tableTitles {
		w[i] = ansi.StringWidth(t)
	}
	for _, row := range cells {
		for i, c := range row {
			w[i] = max(w[i], ansi.StringWidth(c))
		}
	}
	avail := total - 2*(len(w)-1)
	for {
		sum, widest := 0, -1
		for i := range w {
			sum += w[i]
			if w[i] > minWidths[i] && (widest < 0 || w[i] > w[widest]) {
				widest = i
			}
		}
		if sum <= avail || widest < 0 {
			return w
		}
		w[widest]--
	}
}

// bottomLines are the status line(s) and the key bar, or the prompt of the
// deny and stop dialogs.
func (m Model) bottomLines() []string {
	s := m.styles
	switch m.mode {
	case modeDeny:
		q := fmt.Sprintf("deny %s for %s: the agent is told the reason", m.denyFor.Request.ID, m.denyFor.Identity)
		return []string{s.accent.Render(fit(q, m.width)), m.input.View()}
	case modeConfirmStop:
		q := fmt.Sprintf("stop %s? It is torn down and its state removed unless preserved.", m.stopFor)
		return append(styled(s.accent, statusLines(q, m.width, 2)), s.bold.Render("y: stop  any other key: cancel"))
	}
	var status []string
	switch {
	case m.busy != "" && m.status != "" && m.quitArmed:
		status = styled(s.bad, statusLines(m.status, m.width, 2))
	case m.busy != "":
		text := m.busy + "…"
		if m.progress != "" {
			text += " " + clean(m.progress)
		}
		status = styled(s.warn, []string{fit(text, m.width)})
	case m.statusErr:
		status = styled(s.bad, statusLines(clean(m.status), m.width, 3))
	default:
		status = styled(s.ok, statusLines(clean(m.status), m.width, 3))
	}
	return append(status, s.dim.Render(fit(shortHelp, m.width)))
}

func styled(st lipgloss.Style, lines []string) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = st.Render(l)
	}
	return out
}
