package dashboard

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/bottle-dev/bottle/runner"
)

// keyMap is every key of the table view; the help view lists them in this
// order.
type keyMap struct {
	Up, Down, Top, Bottom, Next                key.Binding
	Approve, Deny, Logs, Stop, Resume, Refresh key.Binding
	Help, Quit                                 key.Binding
}

var keys = keyMap{
	Up:      key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "move up")),
	Down:    key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "move down")),
	Top:     key.NewBinding(key.WithKeys("home", "g"), key.WithHelp("g", "first bottle")),
	Bottom:  key.NewBinding(key.WithKeys("end", "G"), key.WithHelp("G", "last bottle")),
	Next:    key.NewBinding(key.WithKeys("tab", "n"), key.WithHelp("tab", "next pending request of the bottle")),
	Approve: key.NewBinding(key.WithKeys("a"), key.WithHelp("a", "approve: rebuild with the lines shown, keep state")),
	Deny:    key.NewBinding(key.WithKeys("d"), key.WithHelp("d", "deny, with a reason for the agent")),
	Logs:    key.NewBinding(key.WithKeys("l", "enter"), key.WithHelp("l", "full logs (esc to come back)")),
	Stop:    key.NewBinding(key.WithKeys("s"), key.WithHelp("s", "stop: tear down (asks first)")),
	Resume:  key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "resume a preserved bottle, detached")),
	Refresh: key.NewBinding(key.WithKeys("ctrl+r"), key.WithHelp("ctrl+r", "refresh now")),
	Help:    key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "this help")),
	Quit:    key.NewBinding(key.WithKeys("q", "ctrl+c"), key.WithHelp("q", "quit")),
}

func (k keyMap) all() []key.Binding {
	return []key.Binding{k.Up, k.Down, k.Top, k.Bottom, k.Next, k.Approve, k.Deny, k.Logs, k.Stop, k.Resume, k.Refresh, k.Help, k.Quit}
}

// shortHelp is the key bar at the bottom of the table view.
const shortHelp = "a approve  d deny  l logs  s stop  r resume  ? help  q quit"

func (m Model) onKey(msg tea.KeyMsg) (tea.Model, tea.Cmd) {
	if msg.String() == "ctrl+c" {
		return m.quit()
	}
	switch m.mode {
	case modeDeny:
		return m.onDenyKey(msg)
	case modeConfirmStop:
		m.mode = modeTable
		if msg.String() != "y" {
			m.setStatus("stop cancelled", false)
			return m, nil
		}
		m.busy = "stopping " + m.stopFor
		return m, m.stopCmd(m.stopFor)
	case modeLogs:
		switch msg.String() {
		case "esc", "q", "l":
			m.mode = modeTable
			return m, nil
		case "r":
			m.logsLoading = true
			return m, m.logsCmd(m.logsFor)
		case "g", "home":
			m.logs.GotoTop()
			return m, nil
		case "G", "end":
			m.logs.GotoBottom()
			return m, nil
		}
		var cmd tea.Cmd
		m.logs, cmd = m.logs.Update(msg)
		return m, cmd
	case modeHelp:
		m.mode = modeTable
		return m, nil
	}
	return m.onTableKey(msg)
}

func (m Model) onTableKey(msg tea.KeyMsg) (tea.Model, tea.Cmd) {
	switch {
	case key.Matches(msg, keys.Quit):
		return m.quit()
	case key.Matches(msg, keys.Up):
		return m.moveTo(m.cursor - 1)
	case key.Matches(msg, keys.Down):
		return m.moveTo(m.cursor + 1)
	case key.Matches(msg, keys.Top):
		return m.moveTo(0)
	case key.Matches(msg, keys.Bottom):
		return m.moveTo(len(m.rows) - 1)
	case key.Matches(msg, keys.Help):
		m.mode = modeHelp
		return m, nil
	case key.Matches(msg, keys.Refresh):
		m, c1 := m.refresh(nil, true) // asked for: read everything
		m, c2 := m.loadDetail()
		return m, tea.Batch(c1, c2)
	case key.Matches(msg, keys.Next):
		if n := len(m.requests[m.selected]); n > 1 {
			m.reqIndex = (m.reqIndex + 1) % n
		}
		return m, nil
	}
	row, ok := m.selectedRow()
	if !ok {
		return m, nil
	}
	switch {
	case key.Matches(msg, keys.Logs):
		if row.State == runner.StatusError {
			m.setStatus(row.Identity+" has no readable state, so no logs", true)
			return m, nil
		}
		m.mode, m.logsFor, m.logLines, m.logsErr, m.logsLoading = modeLogs, row.Identity, nil, nil, true
		m.setLogsContent(true)
		return m, m.logsCmd(row.Identity)
	case !key.Matches(msg, keys.Approve, keys.Deny, keys.Stop, keys.Resume):
		return m, nil
	case m.busy != "":
		m.setStatus("wait: "+m.busy+" is still running", true)
		return m, nil
	case key.Matches(msg, keys.Stop):
		m.mode, m.stopFor = modeConfirmStop, row.Identity
		return m, nil
	case key.Matches(msg, keys.Resume):
		if row.State != runner.StatusPreserved {
			m.setStatus(fmt.Sprintf("only a preserved bottle can be resumed; %s is %s", row.Identity, row.State), true)
			return m, nil
		}
		m.busy = "resuming " + row.Identity
		return m, m.resumeCmd(row.Identity)
	}
	req, ok := m.selectedRequest()
	if !ok {
		m.setStatus(row.Identity+" has no pending request", true)
		return m, nil
	}
	if key.Matches(msg, keys.Approve) {
		m.busy = fmt.Sprintf("approving %s for %s", req.Request.ID, req.Identity)
		return m, m.approveCmd(req)
	}
	m.mode, m.denyFor = modeDeny, req
	m.input.Reset()
	return m, m.input.Focus()
}

func (m Model) onDenyKey(msg tea.KeyMsg) (tea.Model, tea.Cmd) {
	switch msg.String() {
	case "esc":
		m.mode = modeTable
		m.input.Blur()
		m.setStatus("deny cancelled", false)
		return m, nil
	case "enter":
		m.mode = modeTable
		m.input.Blur()
		reason := strings.TrimSpace(m.input.Value())
		m.busy = fmt.Sprintf("denying %s for %s", m.denyFor.Request.ID, m.denyFor.Identity)
		return m, m.denyCmd(m.denyFor, reason)
	}
	var cmd tea.Cmd
	m.input, cmd = m.input.Update(msg)
	return m, cmd
}

func (m Model) moveTo(i int) (tea.Model, tea.Cmd) {
	if len(m.rows) == 0 {
		return m, nil
	}
	m.cursor = max(0, min(i, len(m.rows)-1))
	return m.selectionChanged()
}

// quit ends the dashboard, but asks once more while an action runs: an
// approval cut short would leave a bottle half torn down.
func (m Model) quit() (tea.Model, tea.Cmd) {
	if m.busy != "" && !m.quitArmed {
		m.quitArmed = true
		m.setStatus("still "+m.busy+": press q again to quit anyway", true)
		return m, nil
	}
	return m, tea.Quit
}
