package dashboard

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/bottle-dev/bottle/runner"
	"github.com/bottle-dev/bottle/runner/state"
)

func TestRowsAndDetailRender(t *testing.T) {
	m := newModel(t, newFake())
	v := m.View()
	checkScreen(t, v, 80, 24)
	mustContain(t, v,
		"3 bottles  1 pending request",
		"IDENTITY", "BACKEND", "STATE", "REQ",
		"> "+idDemo, "running", "4m",
		idFixer, "smolmachines", "preserved", "3h",
		idBroken, "error",
		"request "+reqID, "reason: need newtool to summarise the README",
		"approve appends:",
		"  + RUN printf '#!/bin/sh\\necho newtool 1.0\\n' >/usr/local/bin/newtool",
		"  + RUN chmod +x /usr/local/bin/newtool",
		"output", "demo agent: newtool is missing; asking the operator",
		"audit log", "15:05:26 launch backend=docker image=bottle/demo-k3x9a",
		shortHelp,
	)
}

func TestSelectionMovesAndLoadsDetail(t *testing.T) {
	m := newModel(t, newFake())
	m = press(t, m, "j")
	if m.selected != idFixer || m.cursor != 1 {
		t.Fatalf("after j: selected %q cursor %d", m.selected, m.cursor)
	}
	v := m.View()
	mustContain(t, v, "> "+idFixer, "fixer: done", "fixer/claude on smolmachines · preserved", "audit log: empty")
	if strings.Contains(v, "approve appends") {
		t.Error("the fixer bottle has no request, but one is shown")
	}
	m = press(t, m, "down", "down", "down") // stays on the last row
	if m.cursor != 2 || m.selected != idBroken {
		t.Fatalf("after 3×down: selected %q cursor %d", m.selected, m.cursor)
	}
	m = press(t, m, "k", "up", "up")
	if m.cursor != 0 || m.selected != idDemo {
		t.Fatalf("after k, up, up: selected %q cursor %d", m.selected, m.cursor)
	}
	m = press(t, m, "G")
	if m.cursor != 2 {
		t.Fatalf("G: cursor %d", m.cursor)
	}
	m = press(t, m, "g")
	if m.cursor != 0 {
		t.Fatalf("g: cursor %d", m.cursor)
	}
}

func TestApproveShowsResumeHint(t *testing.T) {
	for _, watch := range []bool{false, true} {
		f := newFake()
		f.watch = watch
		m := newModel(t, f)
		m = press(t, m, "a")
		if want := []string{idDemo + " " + reqID}; !slices.Equal(f.approved, want) {
			t.Fatalf("Approve calls = %v, want %v", f.approved, want)
		}
		// The dashboard approves the lines it showed, by their digest.
		if !slices.Equal(f.digests, []string{reqDigest}) {
			t.Errorf("Approve digests = %q, want %q", f.digests, reqDigest)
		}
		want := runner.ApprovalStatus(&runner.Approval{Identity: idDemo, Request: &state.Request{ID: reqID}, WatchRunning: watch})
		if m.status != want || m.statusErr {
			t.Errorf("status = %q (error %v), want %q", m.status, m.statusErr, want)
		}
		v := m.View()
		checkScreen(t, v, 80, 24)
		// The torn-down bottle's last output stays visible.
		mustContain(t, v, "output, as last seen (now unavailable)", "demo agent: newtool is missing")
		if watch {
			mustContain(t, v, "the running bottle watch will resume it")
		} else {
			// The hint stays whole on one screen line.
			mustContain(t, v, "approved "+reqID+" for "+idDemo+":", "resume with bottle resume "+idDemo)
		}
	}
}

func TestApproveErrorIsShown(t *testing.T) {
	f := newFake()
	f.failWith = errors.New("approve demo-k3x9a: the bottle is gone")
	m := press(t, newModel(t, f), "a")
	if !m.statusErr || !strings.Contains(m.View(), "the bottle is gone") {
		t.Errorf("status %q (error %v)", m.status, m.statusErr)
	}
	if m.busy != "" {
		t.Errorf("still busy: %q", m.busy)
	}
}

func TestDenyAsksForReason(t *testing.T) {
	f := newFake()
	m := press(t, newModel(t, f), "d")
	if m.mode != modeDeny {
		t.Fatalf("mode = %v after d", m.mode)
	}
	mustContain(t, m.View(), "deny "+reqID+" for "+idDemo, "reason: ")
	m = typeText(t, m, "no new binaries today")
	mustContain(t, m.View(), "no new binaries today")
	checkScreen(t, m.View(), 80, 24)
	if len(f.denied) != 0 {
		t.Fatal("Deny was called before enter")
	}
	m = press(t, m, "enter")
	if want := []string{idDemo + " " + reqID + " no new binaries today"}; !slices.Equal(f.denied, want) {
		t.Fatalf("Deny calls = %v, want %v", f.denied, want)
	}
	if m.mode != modeTable || !strings.Contains(m.status, "denied "+reqID+" for "+idDemo) {
		t.Errorf("mode %v, status %q", m.mode, m.status)
	}
}

func TestDenyEscCancels(t *testing.T) {
	f := newFake()
	m := press(t, newModel(t, f), "d")
	m = typeText(t, m, "nope")
	m = press(t, m, "esc")
	if len(f.denied) != 0 || m.mode != modeTable {
		t.Errorf("denied %v, mode %v", f.denied, m.mode)
	}
	// Keys act on the table again: q quits.
	if _, cmd := m.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("q")}); cmd == nil || cmd() != tea.Quit() {
		t.Error("q does not quit after the deny was cancelled")
	}
}

func TestErrorRow(t *testing.T) {
	f := newFake()
	m := press(t, newModel(t, f), "G")
	v := m.View()
	checkScreen(t, v, 80, 24)
	mustContain(t, v, "> "+idBroken, "this state dir cannot be read:", "unexpected end of JSON input")
	m = press(t, m, "a", "r", "l")
	if len(f.approved)+len(f.resumed) != 0 || m.mode != modeTable {
		t.Errorf("actions on an error row: approved %v resumed %v mode %v", f.approved, f.resumed, m.mode)
	}
}

func TestBottlesComeAndGo(t *testing.T) {
	f := newFake()
	m := press(t, newModel(t, f), "G") // cursor on the last row
	all := f.status
	f.set(all[:1], f.requests)
	m = drain(t, m, m.refreshCmd(nil, true))
	if m.cursor != 0 || m.selected != idDemo {
		t.Fatalf("after rows vanished: cursor %d selected %q", m.cursor, m.selected)
	}
	checkScreen(t, m.View(), 80, 24)
	mustContain(t, m.View(), "> "+idDemo, "1 bottle ")

	f.set(nil, nil)
	m = drain(t, m, m.refreshCmd(nil, true))
	v := m.View()
	checkScreen(t, v, 80, 24)
	mustContain(t, v, "No bottles", "0 bottles")
	m = press(t, m, "j", "k", "G", "a", "d", "s", "r", "l", "tab", "?")
	checkScreen(t, m.View(), 80, 24)

	// A new bottle appears in front of the selected one: the cursor
	// follows the selected identity.
	m = press(t, m, "esc")
	f.set(all[1:2], nil)
	m = drain(t, m, m.refreshCmd(nil, true))
	f.set(all, f.requests)
	m = drain(t, m, m.refreshCmd(nil, true))
	if m.selected != idFixer || m.cursor != 1 {
		t.Errorf("cursor did not follow %s: cursor %d selected %q", idFixer, m.cursor, m.selected)
	}
}

func TestStopAsksFirst(t *testing.T) {
	f := newFake()
	m := press(t, newModel(t, f), "s")
	mustContain(t, m.View(), "stop "+idDemo+"?", "y: stop")
	m = press(t, m, "n")
	if len(f.stopped) != 0 {
		t.Fatal("n stopped the bottle")
	}
	m = press(t, m, "s", "y")
	if !slices.Equal(f.stopped, []string{idDemo}) || m.status != "stopped "+idDemo {
		t.Errorf("stopped %v, status %q", f.stopped, m.status)
	}
}

func TestResumeOnlyPreserved(t *testing.T) {
	f := newFake()
	m := press(t, newModel(t, f), "r")
	if len(f.resumed) != 0 || !strings.Contains(m.status, "only a preserved bottle can be resumed") {
		t.Fatalf("resumed %v, status %q", f.resumed, m.status)
	}
	m = press(t, m, "j", "r")
	if !slices.Equal(f.resumed, []string{idFixer}) || !strings.Contains(m.status, "bottle logs "+idFixer+" -f") {
		t.Errorf("resumed %v, status %q", f.resumed, m.status)
	}
}

func TestOneActionAtATime(t *testing.T) {
	f := newFake()
	m := newModel(t, f)
	// Press a without running the command: the approval is in flight.
	next, _ := m.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("a")})
	m = next.(Model)
	mustContain(t, m.View(), "approving "+reqID+" for "+idDemo+"…")
	m = press(t, m, "j", "r")
	if len(f.resumed) != 0 || !strings.Contains(m.status, "is still running") {
		t.Fatalf("a second action started: resumed %v, status %q", f.resumed, m.status)
	}
	// q asks again while the approval runs; the second q quits.
	next, cmd := m.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("q")})
	if cmd != nil {
		t.Fatal("the first q quit while an approval was running")
	}
	mustContain(t, next.(Model).View(), "press q again to quit anyway")
	if _, cmd = next.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("q")}); cmd == nil || cmd() != tea.Quit() {
		t.Error("the second q did not quit")
	}
}

func TestMultipleRequestsTab(t *testing.T) {
	f := newFake()
	second := &state.Request{ID: "req-2", Reason: "want jq", Dockerfile: []string{"RUN apk add jq"}}
	f.requests = append(f.requests, runner.PendingRequest{Identity: idDemo, Request: second})
	m := newModel(t, f)
	mustContain(t, m.View(), "(1 of 2, tab: next)")
	m = press(t, m, "tab")
	mustContain(t, m.View(), "request req-2 (2 of 2, tab: next)", "RUN apk add jq")
	m = press(t, m, "a")
	if !slices.Equal(f.approved, []string{idDemo + " req-2"}) {
		t.Errorf("approved %v, want the second request", f.approved)
	}
}

func TestLogsView(t *testing.T) {
	f := newFake()
	f.logs[idDemo] = "\x1b[31mred\x1b[0m line\r\nprogress 10%\rprogress 100%\n" + strings.Repeat("x", 200) + "\n"
	m := press(t, newModel(t, f), "l")
	if m.mode != modeLogs {
		t.Fatalf("mode %v after l", m.mode)
	}
	v := m.View()
	checkScreen(t, v, 80, 24)
	mustContain(t, v, "logs of "+idDemo, "red line", "progress 100%", "following the end")
	if strings.Contains(v, "\x1b") || strings.Contains(v, "progress 10%") {
		t.Errorf("agent output reached the screen unsanitised:\n%q", v)
	}
	m = press(t, m, "esc")
	if m.mode != modeTable {
		t.Errorf("esc: mode %v", m.mode)
	}
}

func TestHelp(t *testing.T) {
	m := press(t, newModel(t, newFake()), "?")
	v := m.View()
	checkScreen(t, v, 80, 24)
	mustContain(t, v, "approve: rebuild with the lines shown", "deny, with a reason", "full logs")
	if m = press(t, m, "x"); m.mode != modeTable {
		t.Error("a key did not close the help")
	}
}

func TestFileChangesRefresh(t *testing.T) {
	f := newFake()
	changes := make(chan []string, 1)
	t.Cleanup(func() { close(changes) })
	m := New(t.Context(), f, Options{Changes: changes, Now: func() time.Time { return testNow }})
	// Not Init: its wait for changes would be left running by drain and
	// swallow the batch below.
	m = drain(t, m, m.refreshCmd(nil, true))
	f.set(f.status[:1], nil)
	changes <- []string{"/home/.bottle/state/" + idDemo + "/queue/x.answer.json"}
	m = drain(t, m, m.waitChanges())
	if len(m.rows) != 1 || m.pendingTotal() != 0 {
		t.Errorf("after a change: %d rows, %d pending", len(m.rows), m.pendingTotal())
	}
	m = drain(t, m, func() tea.Msg { return changesClosedMsg{} })
	mustContain(t, m.View(), "file watch off, polling")
}

func TestRunnerEventsReachStatus(t *testing.T) {
	m := newModel(t, newFake())
	ev := runner.Event{Type: runner.EventRejected, Identity: idDemo, Message: "bad: request is not valid JSON"}
	next, _ := m.Update(ev)
	m = next.(Model)
	mustContain(t, m.View(), idDemo+": rejected a malformed request")
	// The next refresh reports it again; it must not bury a newer status.
	m = press(t, m, "a")
	next, _ = m.Update(ev)
	mustContain(t, next.(Model).View(), "resume with bottle resume "+idDemo)
}
