package dashboard

import (
	"context"
	"errors"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"github.com/bottle-dev/bottle/runner"
	"github.com/bottle-dev/bottle/runner/state"
)

// fakeSource is an in-memory Source that records every action.
type fakeSource struct {
	mu       sync.Mutex
	status   []runner.BottleStatus
	requests []runner.PendingRequest
	logs     map[string]string
	audit    map[string][]state.AuditEvent
	watch    bool // what Approval.WatchRunning reports
	gone     map[string]bool
	failWith error

	approved, stopped, resumed []string
	refreshes                  []refreshCall
	// digests are what each Approve call was given.
	digests []string
	denied  []string // "identity request reason"
}

// refreshCall is what one Refresh was asked to read.
type refreshCall struct {
	paths []string
	full  bool
}

func (f *fakeSource) Refresh(_ context.Context, paths []string, full bool) ([]runner.BottleStatus, []runner.PendingRequest, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.refreshes = append(f.refreshes, refreshCall{paths, full})
	return append([]runner.BottleStatus(nil), f.status...), append([]runner.PendingRequest(nil), f.requests...), nil
}

func (f *fakeSource) find(identity, id string) (*state.Request, error) {
	for _, p := range f.requests {
		if p.Identity == identity && p.Request.ID == id {
			return p.Request, nil
		}
	}
	return nil, errors.New("no such request")
}

func (f *fakeSource) Approve(_ context.Context, identity, id, digest string) (*runner.Approval, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.digests = append(f.digests, digest)
	if f.failWith != nil {
		return nil, f.failWith
	}
	req, err := f.find(identity, id)
	if err != nil {
		return nil, err
	}
	f.approved = append(f.approved, identity+" "+id)
	// As the runner does: the request is answered, the bottle torn down
	// and its state preserved.
	f.requests = slices.DeleteFunc(f.requests, func(p runner.PendingRequest) bool { return p.Request == req })
	for i := range f.status {
		if f.status[i].Identity == identity {
			f.status[i].State, f.status[i].PendingRequests = runner.StatusPreserved, 0
		}
	}
	f.gone[identity] = true
	f.audit[identity] = append(f.audit[identity], state.AuditEvent{Time: testNow, Event: "approval", Details: map[string]string{"request": id, "by": "alice"}},
		state.AuditEvent{Time: testNow, Event: "teardown", Details: map[string]string{"reason": "capability approved"}})
	return &runner.Approval{Identity: identity, Request: req, Dockerfile: "/state/" + identity + "/Dockerfile", WatchRunning: f.watch}, nil
}

func (f *fakeSource) Deny(_ context.Context, identity, id, reason string) (*state.Request, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	req, err := f.find(identity, id)
	if err != nil {
		return nil, err
	}
	f.denied = append(f.denied, identity+" "+id+" "+reason)
	return req, nil
}

func (f *fakeSource) Stop(_ context.Context, identity string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stopped = append(f.stopped, identity)
	return false, nil
}

func (f *fakeSource) Resume(_ context.Context, identity string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.resumed = append(f.resumed, identity)
	return nil
}

func (f *fakeSource) Logs(_ context.Context, identity string, w io.Writer) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.gone[identity] {
		return errors.New("logs of " + identity + ": the bottle is gone and kept no log")
	}
	_, err := io.WriteString(w, f.logs[identity])
	return err
}

func (f *fakeSource) AuditTail(_ context.Context, identity string, n int) ([]state.AuditEvent, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	a := f.audit[identity]
	return a[max(0, len(a)-n):], nil
}

func (f *fakeSource) set(status []runner.BottleStatus, reqs []runner.PendingRequest) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.status, f.requests = status, reqs
}

var testNow = time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)

const (
	idDemo    = "demo-k3x9a"
	idFixer   = "fixer-7qv2m"
	idBroken  = "broken-0p9zz"
	reqID     = "req-20260314150521-9f3c2a71"
	reqDigest = "sha256:5d41402abc4b2a76b9719d911017c592aa2b2a9b2bb8c1f0e16f7b4b5f8b4e1c"
)

// newFake is three bottles: one running with a pending request, one
// preserved, and a corrupt state dir.
func newFake() *fakeSource {
	return &fakeSource{
		gone: map[string]bool{},
		status: []runner.BottleStatus{
			{Identity: idDemo, Bottle: "demo", Agent: "demo", Backend: "docker", State: runner.StatusRunning, StartedAt: testNow.Add(-4 * time.Minute), PendingRequests: 1},
			{Identity: idFixer, Bottle: "fixer", Agent: "claude", Backend: "smolmachines", State: runner.StatusPreserved, StartedAt: testNow.Add(-3 * time.Hour)},
			{Identity: idBroken, State: runner.StatusError, Error: "read metadata.json: unexpected end of JSON input"},
		},
		requests: []runner.PendingRequest{{Identity: idDemo, Bottle: "demo", Digest: reqDigest, Request: &state.Request{
			ID: reqID, Kind: "capability", Reason: "need newtool to summarise the README",
			Dockerfile: []string{"RUN printf '#!/bin/sh\\necho newtool 1.0\\n' >/usr/local/bin/newtool", "RUN chmod +x /usr/local/bin/newtool"},
		}}},
		logs: map[string]string{
			idDemo: "demo agent: working on \"Summarise the project README\"\ndemo agent: reading README.md\n" +
				"demo agent: newtool is missing; asking the operator\n" + reqID + "\n" +
				"bottle-request: waiting for the operator (bottle approve/deny " + idDemo + " " + reqID + ")\n",
			idFixer: "fixer: done\n",
		},
		audit: map[string][]state.AuditEvent{
			idDemo: {
				{Time: testNow.Add(-4 * time.Minute), Event: "launch", Details: map[string]string{"backend": "docker", "image": "bottle/demo-k3x9a"}},
				{Time: testNow.Add(-3 * time.Minute), Event: "request", Details: map[string]string{"request": reqID}},
			},
		},
	}
}

// newModel is a dashboard over f at 80×24 with NO_COLOR, after its first
// refresh and detail fetch.
func newModel(t *testing.T, f *fakeSource) Model {
	t.Helper()
	m := New(t.Context(), f, Options{Now: func() time.Time { return testNow }, Location: time.UTC})
	return drain(t, m, m.Init())
}

// drain runs cmd and every command the resulting messages lead to, feeding
// each message back into Update, the way the bubbletea runtime does. A
// command that does not return promptly (one that waits on a channel) is
// dropped.
func drain(t *testing.T, m Model, cmd tea.Cmd) Model {
	t.Helper()
	queue := []tea.Cmd{cmd}
	for steps := 0; len(queue) > 0; steps++ {
		if steps > 1000 {
			t.Fatal("drain: the model keeps producing commands")
		}
		c := queue[0]
		queue = queue[1:]
		if c == nil {
			continue
		}
		done := make(chan tea.Msg, 1)
		go func() { done <- c() }()
		var msg tea.Msg
		select {
		case msg = <-done:
		case <-time.After(200 * time.Millisecond):
			continue
		}
		if batch, ok := msg.(tea.BatchMsg); ok {
			queue = append(queue, batch...)
			continue
		}
		if msg == nil {
			continue
		}
		next, cmd := m.Update(msg)
		m = next.(Model)
		queue = append(queue, cmd)
	}
	return m
}

// press sends keys (one per rune, or a named key such as "enter") and
// drains what they start.
func press(t *testing.T, m Model, keys ...string) Model {
	t.Helper()
	for _, k := range keys {
		var msg tea.KeyMsg
		switch k {
		case "enter":
			msg = tea.KeyMsg{Type: tea.KeyEnter}
		case "esc":
			msg = tea.KeyMsg{Type: tea.KeyEsc}
		case "down":
			msg = tea.KeyMsg{Type: tea.KeyDown}
		case "up":
			msg = tea.KeyMsg{Type: tea.KeyUp}
		case "tab":
			msg = tea.KeyMsg{Type: tea.KeyTab}
		case "ctrl+c":
			msg = tea.KeyMsg{Type: tea.KeyCtrlC}
		default:
			msg = tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(k)}
		}
		next, cmd := m.Update(msg)
		m = drain(t, next.(Model), cmd)
	}
	return m
}

// typeText types s into the focused input.
func typeText(t *testing.T, m Model, s string) Model {
	t.Helper()
	for _, r := range s {
		next, cmd := m.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}})
		m = drain(t, next.(Model), cmd)
	}
	return m
}

// checkScreen fails unless view is exactly h lines of at most w cells.
func checkScreen(t *testing.T, view string, w, h int) {
	t.Helper()
	lines := strings.Split(view, "\n")
	if len(lines) != h {
		t.Errorf("view has %d lines, want %d", len(lines), h)
	}
	for i, l := range lines {
		if got := ansi.StringWidth(l); got > w {
			t.Errorf("line %d is %d cells wide (max %d): %q", i+1, got, w, ansi.Strip(l))
		}
	}
}

func mustContain(t *testing.T, view string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(view, w) {
			t.Errorf("view lacks %q:\n%s", w, view)
		}
	}
}
