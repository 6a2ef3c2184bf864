package runner_test

import (
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/bottle-dev/bottle/runner"
	"github.com/bottle-dev/bottle/runner/state"
)

// A session an approval tears down reports that the agent was stopped for
// the rebuild, never that it exited (with the 137 of the kill).
func TestApprovalReportsStoppedNotExited(t *testing.T) {
	e := newEnv(t, basicHCL)
	id := e.approved(e.docker)
	if got := e.events.of(runner.EventStopped, id); !slices.Equal(got, []string{"137"}) {
		t.Errorf("stopped events %q, want the kill's code once", got)
	}
	if got := e.events.of(runner.EventExited, id); len(got) != 0 {
		t.Errorf("exited events %q for a bottle an approval stopped", got)
	}
	data, err := os.ReadFile(e.stateDir(id).Join(state.AuditFile))
	if err != nil {
		t.Fatal(err)
	}
	var reasons []string
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var ev state.AuditEvent
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatal(err)
		}
		if ev.Event == "stop" {
			reasons = append(reasons, ev.Details["reason"])
		}
	}
	if !slices.Equal(reasons, []string{"capability approval"}) {
		t.Errorf("stop audit reasons %q", reasons)
	}
}
