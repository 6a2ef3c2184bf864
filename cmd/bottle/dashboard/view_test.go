package dashboard

import (
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"

	"github.com/bottle-dev/bottle/runner"
	"github.com/bottle-dev/bottle/runner/state"
)

var update = flag.Bool("update", false, "rewrite testdata/screen.txt")

// hostile is a fake with everything that could break the layout: long
// names, a long reason, many long Dockerfile lines, wide runes and escape
// sequences in the output, many bottles.
func hostile() *fakeSource {
	f := newFake()
	long := strings.Repeat("very-long-bottle-name-", 2) + "x"
	for i := range 12 {
		f.status = append(f.status, runner.BottleStatus{
			Identity: long + "-" + strings.Repeat(string(rune('a'+i)), 5), Bottle: long, Agent: "agent-with-a-long-name",
			Backend: "smolmachines", State: runner.StatusCreated, StartedAt: testNow.Add(-time.Duration(i) * 24 * time.Hour), PendingRequests: 3,
		})
	}
	var lines []string
	for i := range 32 {
		lines = append(lines, "RUN apt-get install -y "+strings.Repeat("package-"+string(rune('a'+i%26))+" ", 12))
	}
	f.requests[0].Request.Reason = strings.Repeat("the agent explains at length why it needs this ", 20)
	f.requests[0].Request.Dockerfile = lines
	f.logs[idDemo] = strings.Repeat("日本語の出力 \x1b[1;31mbold red\x1b[0m \x1b]0;title\x07 tab\there "+strings.Repeat("=", 100)+"\n", 50)
	f.status[2].Error = strings.Repeat("a very long error message ", 30)
	return f
}

func TestViewFitsAndHasNoEscapesWithNoColor(t *testing.T) {
	for _, size := range [][2]int{{80, 24}, {100, 40}, {60, 15}, {20, 5}, {1, 1}} {
		m := newModel(t, hostile())
		next, _ := m.Update(tea.WindowSizeMsg{Width: size[0], Height: size[1]})
		m = next.(Model)
		for _, keys := range [][]string{nil, {"j"}, {"G"}, {"g", "d"}, {"esc", "s"}, {"n", "?"}, {"esc", "l"}, {"esc", "a"}} {
			m = press(t, m, keys...)
			v := m.View()
			checkScreen(t, v, size[0], size[1])
			if strings.Contains(v, "\x1b") {
				t.Fatalf("%v after %v: escape sequence with NO_COLOR:\n%q", size, keys, v)
			}
		}
	}
}

func TestColourWhenAllowed(t *testing.T) {
	r := lipgloss.NewRenderer(io.Discard)
	r.SetColorProfile(termenv.ANSI256)
	m := New(t.Context(), hostile(), Options{Renderer: r, Now: func() time.Time { return testNow }})
	m = drain(t, m, m.Init())
	v := m.View()
	if !strings.Contains(v, "\x1b[") {
		t.Error("no styling with a colour profile")
	}
	checkScreen(t, v, 80, 24)
}

// TestScreen renders the README's captured screens at 80×24 without
// colour: the demo bottle's request pending, then the screen right after
// pressing a. go test -update rewrites them.
func TestScreen(t *testing.T) {
	f := newFake()
	m := newModel(t, f)
	golden(t, "screen.txt", m.View())
	golden(t, "screen-approved.txt", press(t, m, "a").View())
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	got += "\n"
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if got != string(want) {
		t.Errorf("screen differs from %s (go test -update rewrites it):\n%s", path, got)
	}
}

// TestEgressRequestOnSmolmachines: approve refuses a live grant on
// smolmachines, so the request pane does not promise one.
func TestEgressRequestOnSmolmachines(t *testing.T) {
	f := newFake()
	f.status[0].Backend = "smolmachines"
	f.requests[0].Request = &state.Request{ID: reqID, Kind: state.RequestKindEgress, Reason: "fetch a package", Egress: []string{"registry.npmjs.org:443"}}
	got := newModel(t, f).View()
	if !strings.Contains(got, "smolmachines cannot grant it live") || strings.Contains(got, "approve lets the running bottle reach") {
		t.Errorf("the request pane of a smolmachines egress request:\n%s", got)
	}
	f.status[0].Backend = "docker"
	if got := newModel(t, f).View(); !strings.Contains(got, "approve lets the running bottle reach") {
		t.Errorf("the request pane of a docker egress request:\n%s", got)
	}
}
