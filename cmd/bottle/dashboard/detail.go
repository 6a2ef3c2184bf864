package dashboard

import (
	"fmt"
	"strings"

	"github.com/bottle-dev/bottle/backend"
	"github.com/bottle-dev/bottle/runner"
	"github.com/bottle-dev/bottle/runner/state"
)

// detailLines renders the pane under the table in n lines: the selected
// bottle's pending request (reason and the exact Dockerfile lines an
// approval appends), then the tails of its output and audit log.
func (m Model) detailLines(n int) []string {
	s := m.styles
	row, ok := m.selectedRow()
	if !ok || n <= 0 {
		return nil
	}
	title := "── " + clean(row.Identity)
	if row.State != runner.StatusError {
		title += fmt.Sprintf(" · %s/%s on %s · %s", dash(clean(row.Bottle)), dash(clean(row.Agent)), dash(row.Backend), row.State)
	}
	title += " "
	lines := []string{s.dim.Render(fit(title+strings.Repeat("─", max(0, m.width-len([]rune(title)))), m.width))}
	if row.State == runner.StatusError {
		lines = append(lines, s.bad.Render("this state dir cannot be read:"))
		for _, l := range wrap(clean(row.Error), m.width-2) {
			lines = append(lines, "  "+l)
		}
		return clip(lines, n)
	}
	budget := n - 1
	if req, ok := m.selectedRequest(); ok {
		r := m.requestLines(req, row.Backend, max(3, budget-4))
		lines = append(lines, r...)
		budget -= len(r)
	}
	if budget <= 0 {
		return clip(lines, n)
	}
	d := m.detail
	loading := d.identity != row.Identity
	audit := make([]string, 0, len(d.audit))
	for _, ev := range d.audit {
		audit = append(audit, m.auditLine(ev))
	}
	auditN := auditRows(budget, len(d.output)+1, len(audit)+1)
	output := d.output
	outTitle := "output"
	switch {
	case loading:
		outTitle, output = "output: loading…", nil
	case d.stale:
		outTitle = "output, as last seen (now unavailable)"
	case len(output) == 0 && d.logsErr != nil:
		outTitle = "output: unavailable: " + clean(d.logsErr.Error())
	case len(output) == 0:
		outTitle = "output: nothing yet"
	}
	lines = append(lines, m.tail(outTitle, output, budget-auditN)...)
	if auditN > 0 {
		auditTitle := "audit log"
		switch {
		case loading:
			auditTitle = "audit log: loading…"
		case d.auditErr != nil:
			auditTitle = "audit log: unavailable: " + clean(d.auditErr.Error())
		case len(audit) == 0:
			auditTitle = "audit log: empty"
		}
		lines = append(lines, m.tail(auditTitle, audit, auditN)...)
	}
	return clip(lines, n)
}

// auditRows is how many of budget lines the audit section gets: what both
// sections need when that fits; otherwise up to a third, plus whatever the
// output leaves unused. Below 4 lines only the output is shown.
func auditRows(budget, outNeed, auditNeed int) int {
	switch {
	case budget < 4:
		return 0
	case outNeed+auditNeed <= budget:
		return auditNeed
	}
	return min(auditNeed, max(budget/3, budget-outNeed))
}

// requestLines shows one pending request in at most n lines. The Dockerfile
// lines are wrapped rather than cut, so what is shown is exactly what an
// approval appends; when they do not all fit, the line says how many more
// there are.
func (m Model) requestLines(p runner.PendingRequest, backendName string, n int) []string {
	s := m.styles
	reqs := m.requests[p.Identity]
	head := "request " + field(p.Request.ID)
	if len(reqs) > 1 {
		head += fmt.Sprintf(" (%d of %d, tab: next)", min(m.reqIndex, len(reqs)-1)+1, len(reqs))
	}
	lines := []string{s.accent.Render(fit(head, m.width))}
	reason := wrap("reason: "+field(p.Request.Reason), m.width-2)
	if len(reason) > 2 {
		reason = append(reason[:1], fit(reason[1]+" "+strings.Join(reason[2:], " "), m.width-2))
	}
	for _, l := range reason {
		lines = append(lines, "  "+l)
	}
	body, verb := p.Request.Dockerfile, "  approve appends:"
	if p.Request.Kind == state.RequestKindEgress {
		body, verb = p.Request.Egress, "  approve lets the running bottle reach (egress):"
		if backendName == backend.Smolmachines {
			// smolvm fixes its allowlist at create: approve refuses.
			verb = "  asks to reach (egress; smolmachines cannot grant it live):"
		}
	}
	lines = append(lines, verb)
	var df []string
	for _, l := range body {
		for i, piece := range hardWrap(field(l), m.width-4) {
			if i == 0 {
				df = append(df, "  + "+piece)
			} else {
				df = append(df, "    "+piece)
			}
		}
	}
	room := n - len(lines)
	if len(df) > room {
		more := len(df) - room + 1
		df = append(df[:max(0, room-1)], s.dim.Render(fmt.Sprintf("  … %d more lines (bottle requests shows them all)", more)))
	}
	return append(lines, styled(s.bold, df)...)
}

// tail is a title line and the last n-1 of lines, indented.
func (m Model) tail(title string, lines []string, n int) []string {
	if n <= 0 {
		return nil
	}
	out := []string{m.styles.bold.Render(fit(title, m.width))}
	if k := n - 1; len(lines) > k {
		lines = lines[len(lines)-k:]
	}
	for _, l := range lines {
		out = append(out, fit("  "+l, m.width))
	}
	return out
}

func clip(lines []string, n int) []string {
	if n <= 0 {
		return nil
	}
	if len(lines) > n {
		return lines[:n]
	}
	return lines
}

// helpLines replace the detail pane while help is shown.
func (m Model) helpLines(n int) []string {
	s := m.styles
	lines := []string{s.bold.Render("keys (any key closes this help)")}
	for _, b := range keys.all() {
		h := b.Help()
		lines = append(lines, fit(fmt.Sprintf("  %-7s %s", h.Key, h.Desc), m.width))
	}
	lines = append(lines, s.dim.Render(fit("Updates on every change under the state dir and every few seconds.", m.width)))
	return clip(lines, n)
}

// logsView is the full-screen, scrollable output of one bottle.
func (m Model) logsView() []string {
	s := m.styles
	pos := fmt.Sprintf("%d%%", int(m.logs.ScrollPercent()*100))
	head := fmt.Sprintf("logs of %s  %s  esc back  ↑↓ pgup pgdn g G  r reload", clean(m.logsFor), pos)
	foot := fmt.Sprintf("%d lines", len(m.logLines))
	switch {
	case m.logsLoading && len(m.logLines) == 0:
		foot = "loading…"
	case m.logsErr != nil:
		foot = "error: " + clean(m.logsErr.Error())
	case m.logs.AtBottom():
		foot += ", following the end"
	}
	lines := []string{s.bold.Render(fit(head, m.width))}
	lines = append(lines, strings.Split(m.logs.View(), "\n")...)
	return append(lines, s.dim.Render(fit(foot, m.width)))
}

// setLogsContent lays the log lines out for the current width.
func (m *Model) setLogsContent(follow bool) {
	var wrapped []string
	for _, l := range m.logLines {
		wrapped = append(wrapped, hardWrap(l, m.width)...)
	}
	if len(wrapped) == 0 && !m.logsLoading {
		wrapped = []string{"(no output yet)"}
	}
	m.logs.SetContent(strings.Join(wrapped, "\n"))
	if follow {
		m.logs.GotoBottom()
	}
}
