package dashboard

import (
	"path/filepath"
	"strings"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/bottle-dev/bottle/runner"
)

// Update handles one message. It never blocks: reads and actions are
// returned as commands and come back as messages.
func (m Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = max(1, msg.Width), max(1, msg.Height)
		m.logs.Width, m.logs.Height = m.width, max(1, m.height-2)
		m.setLogsContent(false)
		return m, nil
	case tickMsg:
		return m.onTick()
	case changesMsg:
		return m.onChanges(msg)
	case changesClosedMsg:
		m.watching = false
		return m, nil
	case refreshMsg:
		return m.onRefresh(msg)
	case detailMsg:
		m.detailLoading = false
		if msg.identity == m.selected {
			msg.output = cleanLines(msg.output)
			if msg.logsErr != nil && len(msg.output) == 0 && m.detail.identity == msg.identity && len(m.detail.output) > 0 {
				msg.output, msg.stale = m.detail.output, true
			}
			m.detail = msg
		}
		if m.detailAgain {
			m.detailAgain = false
			return m.loadDetail()
		}
		return m, nil
	case logsMsg:
		if msg.identity == m.logsFor {
			follow := m.logsLoading && len(m.logLines) == 0 || m.logs.AtBottom()
			m.logsLoading = false
			m.logsErr = msg.err
			// A failed reload (the bottle went away) keeps what was read.
			if msg.err == nil || len(msg.lines) > 0 {
				m.logLines = cleanLines(msg.lines)
			}
			m.setLogsContent(follow)
		}
		return m, nil
	case actionMsg:
		m.busy, m.progress, m.quitArmed = "", "", false
		if msg.err != nil {
			m.setStatus(msg.err.Error(), true)
		} else {
			m.setStatus(msg.text, false)
		}
		m, refresh := m.refresh(nil, true)
		m, detail := m.loadDetail()
		return m, tea.Batch(refresh, detail)
	case runner.Event:
		m.onEvent(msg)
		return m, nil
	case tea.KeyMsg:
		return m.onKey(msg)
	}
	return m, nil
}

// fullRefreshEvery is how many periodic checks pass between two reads of
// every state dir while the file watch runs: in between, a check asks the
// engines only, and the watch names the state dirs to read again. The full
// read is the safety net for a change the watch did not report.
const fullRefreshEvery = 15

func (m Model) onTick() (tea.Model, tea.Cmd) {
	cmds := []tea.Cmd{m.tickCmd()}
	m.ticks++
	m, c := m.refresh(nil, !m.watching || m.ticks%fullRefreshEvery == 0)
	cmds = append(cmds, c)
	m, c = m.loadDetail()
	cmds = append(cmds, c)
	// The logs view follows the output while it is scrolled to the end.
	if m.mode == modeLogs && !m.logsLoading && m.logs.AtBottom() {
		m.logsLoading = true
		cmds = append(cmds, m.logsCmd(m.logsFor))
	}
	return m, tea.Batch(cmds...)
}

func (m Model) onChanges(paths []string) (tea.Model, tea.Cmd) {
	cmds := []tea.Cmd{m.waitChanges()}
	m, c := m.refresh(paths, false)
	cmds = append(cmds, c)
	for _, p := range paths {
		if m.selected != "" && strings.Contains(filepath.ToSlash(p), "/"+m.selected+"/") {
			m, c = m.loadDetail()
			cmds = append(cmds, c)
			break
		}
	}
	return m, tea.Batch(cmds...)
}

// refresh starts a listing of paths (all state dirs when full) unless one
// is in flight; then it asks for one more when that ends, of everything
// asked for meanwhile, so no change is missed and none piles up.
func (m Model) refresh(paths []string, full bool) (Model, tea.Cmd) {
	if m.refreshing {
		m.refreshAgain = true
		m.againPaths = append(m.againPaths, paths...)
		m.againFull = m.againFull || full
		return m, nil
	}
	m.refreshing = true
	return m, m.refreshCmd(paths, full)
}

func (m Model) onRefresh(msg refreshMsg) (tea.Model, tea.Cmd) {
	m.refreshing = false
	var cmds []tea.Cmd
	if msg.err != nil {
		m.refreshErr = msg.err
	} else {
		m.refreshErr, m.loaded = nil, true
		m.rows = msg.status
		m.requests = map[string][]runner.PendingRequest{}
		for _, p := range msg.requests {
			if p.Request != nil {
				m.requests[p.Identity] = append(m.requests[p.Identity], p)
			}
		}
		var c tea.Cmd
		m, c = m.follow()
		cmds = append(cmds, c)
	}
	if m.refreshAgain {
		paths, full := m.againPaths, m.againFull
		m.refreshAgain, m.againPaths, m.againFull = false, nil, false
		var c tea.Cmd
		m, c = m.refresh(paths, full)
		cmds = append(cmds, c)
	}
	return m, tea.Batch(cmds...)
}

// follow keeps the cursor on the selected identity when rows move, and on
// a valid row when it disappeared.
func (m Model) follow() (Model, tea.Cmd) {
	for i, r := range m.rows {
		if r.Identity == m.selected && m.selected != "" {
			m.cursor = i
			if n := len(m.requests[m.selected]); m.reqIndex >= n {
				m.reqIndex = max(0, n-1)
			}
			return m, nil
		}
	}
	m.cursor = max(0, min(m.cursor, len(m.rows)-1))
	return m.selectionChanged()
}

// selectionChanged resets what belongs to the previous selection and loads
// the detail of the new one.
func (m Model) selectionChanged() (Model, tea.Cmd) {
	prev := m.selected
	m.selected = ""
	if row, ok := m.selectedRow(); ok {
		m.selected = row.Identity
	}
	if m.selected == prev {
		return m, nil
	}
	m.reqIndex = 0
	return m.loadDetail()
}

// loadDetail fetches the selected bottle's tails, one fetch at a time.
func (m Model) loadDetail() (Model, tea.Cmd) {
	row, ok := m.selectedRow()
	if !ok || row.State == runner.StatusError {
		m.detail = detailMsg{identity: row.Identity}
		return m, nil
	}
	if m.detailLoading {
		m.detailAgain = true
		return m, nil
	}
	m.detailLoading = true
	return m, m.detailCmd(row.Identity)
}

func (m *Model) onEvent(e runner.Event) {
	msg := strings.TrimSpace(e.Message)
	if i := strings.LastIndexByte(msg, '\n'); i >= 0 {
		msg = msg[i+1:]
	}
	switch e.Type {
	case runner.EventProgress:
		if m.busy != "" && msg != "" {
			m.progress = e.Identity + ": " + msg
		}
	case runner.EventRejected:
		m.warnOnce(e.Identity + ": rejected a malformed request: " + msg)
	case runner.EventWarning, runner.EventWatchError:
		m.warnOnce(e.Identity + ": " + msg)
	}
}

// warnOnce shows a warning the first time it is reported: every refresh
// reports a corrupt state dir again, and must not bury the status of the
// last action.
func (m *Model) warnOnce(text string) {
	if m.warned[text] {
		return
	}
	if m.warned == nil {
		m.warned = map[string]bool{}
	}
	m.warned[text] = true
	m.setStatus(text, true)
}

func (m *Model) setStatus(text string, isErr bool) {
	m.status, m.statusErr = text, isErr
}
