package dashboard

import (
	"context"
	"fmt"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/bottle-dev/bottle/runner"
	"github.com/bottle-dev/bottle/runner/state"
)

// refreshMsg carries a fresh listing of bottles and requests.
type refreshMsg struct {
	status   []runner.BottleStatus
	requests []runner.PendingRequest
	err      error
}

// tickMsg is the periodic backend status check.
type tickMsg time.Time

// changesMsg is one batch of changed paths from the file watch.
type changesMsg []string

// changesClosedMsg means the file watch ended; the periodic check goes on.
type changesClosedMsg struct{}

// detailMsg carries the tails shown in the detail pane for one identity.
type detailMsg struct {
	identity string
	output   []string
	audit    []state.AuditEvent
	logsErr  error
	auditErr error
	// stale means output is what an earlier fetch read: the bottle is
	// gone now (an approval tore it down), and its last words still help.
	stale bool
}

// logsMsg carries the full (bounded) output for the logs view.
type logsMsg struct {
	identity string
	lines    []string
	err      error
}

// actionMsg is how an action ended: text for the status line, or err.
type actionMsg struct {
	text string
	err  error
}

// refreshCmd reads the listing: the state dirs that paths name, or all
// of them when full is set (Source.Refresh).
func (m Model) refreshCmd(paths []string, full bool) tea.Cmd {
	src, ctx := m.src, m.ctx
	return func() tea.Msg {
		st, reqs, err := src.Refresh(ctx, paths, full)
		if err != nil {
			return refreshMsg{err: err}
		}
		return refreshMsg{status: st, requests: reqs}
	}
}

// tickCmd schedules the next status check; a timer, never a busy loop.
func (m Model) tickCmd() tea.Cmd {
	if m.opts.Interval <= 0 {
		return nil
	}
	return tea.Tick(m.opts.Interval, func(t time.Time) tea.Msg { return tickMsg(t) })
}

// waitChanges waits for the next batch from the file watch.
func (m Model) waitChanges() tea.Cmd {
	ch := m.opts.Changes
	if ch == nil {
		return nil
	}
	return func() tea.Msg {
		batch, ok := <-ch
		if !ok {
			return changesClosedMsg{}
		}
		return changesMsg(batch)
	}
}

func (m Model) detailCmd(identity string) tea.Cmd {
	src, parent := m.src, m.ctx
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(parent, detailTimeout)
		defer cancel()
		buf := newTailBuffer(detailLogBytes)
		d := detailMsg{identity: identity}
		d.logsErr = src.Logs(ctx, identity, buf)
		d.output = buf.Lines()
		d.audit, d.auditErr = src.AuditTail(ctx, identity, auditTailLines)
		return d
	}
}

func (m Model) logsCmd(identity string) tea.Cmd {
	src, ctx := m.src, m.ctx
	return func() tea.Msg {
		buf := newTailBuffer(fullLogBytes)
		err := src.Logs(ctx, identity, buf)
		return logsMsg{identity: identity, lines: buf.Lines(), err: err}
	}
}

func (m Model) approveCmd(p runner.PendingRequest) tea.Cmd {
	src, ctx := m.src, m.ctx
	return func() tea.Msg {
		ap, err := src.Approve(ctx, p.Identity, p.Request.ID, p.Digest)
		if err != nil {
			return actionMsg{err: err}
		}
		return actionMsg{text: runner.ApprovalStatus(ap)}
	}
}

func (m Model) denyCmd(p runner.PendingRequest, reason string) tea.Cmd {
	src, ctx := m.src, m.ctx
	return func() tea.Msg {
		req, err := src.Deny(ctx, p.Identity, p.Request.ID, reason)
		if err != nil {
			return actionMsg{err: err}
		}
		return actionMsg{text: fmt.Sprintf("denied %s for %s: the agent was told why", req.ID, p.Identity)}
	}
}

func (m Model) stopCmd(identity string) tea.Cmd {
	src, ctx := m.src, m.ctx
	return func() tea.Msg {
		preserved, err := src.Stop(ctx, identity)
		switch {
		case err != nil:
			return actionMsg{err: err}
		case preserved:
			return actionMsg{text: fmt.Sprintf("stopped %s; its state is preserved: bottle resume %s", identity, identity)}
		}
		return actionMsg{text: "stopped " + identity}
	}
}

func (m Model) resumeCmd(identity string) tea.Cmd {
	src, ctx := m.src, m.ctx
	return func() tea.Msg {
		if err := src.Resume(ctx, identity); err != nil {
			return actionMsg{err: err}
		}
		return actionMsg{text: fmt.Sprintf("resumed %s in the background: bottle logs %s -f follows it", identity, identity)}
	}
}
