package dashboard

import (
	"context"
	"time"

	"github.com/charmbracelet/bubbles/cursor"
	"github.com/charmbracelet/bubbles/textinput"
	"github.com/charmbracelet/bubbles/viewport"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"github.com/bottle-dev/bottle/runner"
	"github.com/bottle-dev/bottle/runner/state"
)

// Options configure a Model.
type Options struct {
	// Renderer styles the view; set its colour profile to termenv.Ascii
	// for NO_COLOR. Nil means a renderer with no colour at all.
	Renderer *lipgloss.Renderer
	// Changes delivers batches of changed paths under the state root (from
	// runner/watch); each batch refreshes the view. Nil: no file watch.
	Changes <-chan []string
	// Interval is the period of the backend status check (which also
	// notices what the file watch cannot, such as an agent that exited).
	// Zero disables it; tests send tickMsg themselves.
	Interval time.Duration
	// Now and Location are the clock and zone for ages and audit times;
	// nil means time.Now and time.Local.
	Now      func() time.Time
	Location *time.Location
	// Width and Height are the size assumed until the terminal reports
	// its own; zero means 80×24.
	Width, Height int
}

type mode int

const (
	modeTable mode = iota
	modeDeny
	modeConfirmStop
	modeLogs
	modeHelp
)

// Bounds on what one fetch keeps.
const (
	detailLogBytes = 64 << 10
	fullLogBytes   = 1 << 20
	auditTailLines = 20
	// detailTimeout bounds the reads behind the detail pane, so a stuck
	// engine cannot freeze it.
	detailTimeout = 10 * time.Second
)

// Model is the dashboard's bubbletea model. Its zero value is not usable;
// call New.
type Model struct {
	// ctx is the dashboard's lifetime. It is kept because bubbletea's
	// Update has no context parameter and the commands it returns do I/O
	// that must stop when the dashboard is interrupted.
	ctx    context.Context
	src    Source
	opts   Options
	styles styles

	width, height int
	mode          mode

	rows     []runner.BottleStatus
	requests map[string][]runner.PendingRequest
	loaded   bool
	cursor   int
	// selected is the identity under the cursor; the cursor follows it
	// when rows come and go.
	selected string
	reqIndex int

	refreshing, refreshAgain bool
	// againPaths and againFull are what the refresh asked for while one
	// was in flight must read.
	againPaths []string
	againFull  bool
	// ticks counts the periodic checks: every fullRefreshEvery-th reads
	// every state dir again.
	ticks      int
	refreshErr error
	watching   bool

	detail                     detailMsg
	detailLoading, detailAgain bool

	input textinput.Model
	// denyFor is the request the reason being typed is for.
	denyFor runner.PendingRequest
	// stopFor is the identity the stop confirmation is for.
	stopFor string

	logs        viewport.Model
	logsFor     string
	logLines    []string
	logsLoading bool
	logsErr     error

	status    string
	statusErr bool
	// busy names the action in flight; one at a time, so two keys never
	// race on the same bottle.
	busy     string
	progress string
	// quitArmed means q was pressed once while an action was in flight.
	quitArmed bool
	// warned holds the runner warnings already shown.
	warned map[string]bool
}

// New returns a dashboard over src. ctx bounds every read and action the
// dashboard starts.
func New(ctx context.Context, src Source, opts Options) Model {
	if opts.Renderer == nil {
		opts.Renderer = asciiRenderer()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Location == nil {
		opts.Location = time.Local
	}
	if opts.Width <= 0 || opts.Height <= 0 {
		opts.Width, opts.Height = 80, 24
	}
	m := Model{
		ctx: ctx, src: src, opts: opts, styles: newStyles(opts.Renderer),
		width: opts.Width, height: opts.Height,
		requests: map[string][]runner.PendingRequest{},
		watching: opts.Changes != nil,
	}
	m.input = textinput.New()
	m.input.Prompt = "reason: "
	m.input.Placeholder = "tell the agent why (enter: deny, esc: cancel)"
	m.input.CharLimit = 500
	m.input.PromptStyle = m.styles.accent
	m.input.TextStyle = m.styles.plain
	m.input.PlaceholderStyle = m.styles.dim
	m.input.Cursor.Style = m.styles.plain
	m.input.Cursor.TextStyle = m.styles.plain
	// A steady cursor: blinking would repaint the screen twice a second.
	m.input.Cursor.SetMode(cursor.CursorStatic)
	m.logs = viewport.New(m.width, max(1, m.height-2))
	return m
}

// Init starts the first refresh, the periodic check and the file watch.
func (m Model) Init() tea.Cmd {
	return tea.Batch(m.refreshCmd(nil, true), m.tickCmd(), m.waitChanges())
}

// selectedRow returns the row under the cursor.
func (m Model) selectedRow() (runner.BottleStatus, bool) {
	if m.cursor < 0 || m.cursor >= len(m.rows) {
		return runner.BottleStatus{}, false
	}
	return m.rows[m.cursor], true
}

// selectedRequest returns the pending request the approve and deny keys act
// on: the reqIndex-th of the selected bottle's, oldest first.
func (m Model) selectedRequest() (runner.PendingRequest, bool) {
	row, ok := m.selectedRow()
	if !ok {
		return runner.PendingRequest{}, false
	}
	reqs := m.requests[row.Identity]
	if len(reqs) == 0 {
		return runner.PendingRequest{}, false
	}
	return reqs[min(m.reqIndex, len(reqs)-1)], true
}

// pendingTotal counts the pending requests across bottles.
func (m Model) pendingTotal() int {
	n := 0
	for _, reqs := range m.requests {
		n += len(reqs)
	}
	return n
}

// auditLine is how one audit event is shown.
func (m Model) auditLine(ev state.AuditEvent) string {
	ts := "--:--:--"
	if !ev.Time.IsZero() {
		ts = ev.Time.In(m.opts.Location).Format("15:04:05")
	}
	return ts + " " + ev.Event + formatDetails(ev.Details)
}
