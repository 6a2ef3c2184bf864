package runner_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bottle-dev/bottle/backend"
	"github.com/bottle-dev/bottle/backend/fake"
	"github.com/bottle-dev/bottle/runner"
	"github.com/bottle-dev/bottle/runner/state"
)

// The scripted agents of the tests, the requests they file, and what the
// runner reports.

// request is the JSON of a capability request.
func request(id, reason string, lines ...string) []byte {
	data, _ := json.Marshal(map[string]any{
		"id": id, "kind": "capability", "reason": reason, "dockerfile": lines,
		"created_at": time.Now().UTC().Format(time.RFC3339),
	})
	return data
}

// fileRequest writes a request into the bottle's queue, from inside.
func fileRequest(in *fake.Instance, id, reason string, lines ...string) error {
	return in.WriteFile(runner.GuestQueue+"/"+id+".json", request(id, reason, lines...), 0o644)
}

// blockingAgent appends a line to the transcript, files the requests and
// runs until the bottle is torn down.
func blockingAgent(reqs ...string) fake.Agent {
	return func(ctx context.Context, in *fake.Instance, io backend.IO) int {
		log, _ := in.ReadFile(transcriptDir + "/log.txt")
		log = append(log, fmt.Sprintf("launch %s resumed=%s\n", in.Env("BOTTLE_SESSION_ID"), in.Env("BOTTLE_RESUMED"))...)
		if err := in.WriteFile(transcriptDir+"/log.txt", log, 0o644); err != nil {
			return 90
		}
		for _, id := range reqs {
			if err := fileRequest(in, id, "need "+id, "RUN echo "+id+" > /"+id); err != nil {
				return 91
			}
		}
		<-ctx.Done()
		return 0
	}
}

// exitAgent ends at once with code.
func exitAgent(code int) fake.Agent {
	return func(context.Context, *fake.Instance, backend.IO) int { return code }
}

// events records what the runner reports.
type events struct {
	mu  sync.Mutex
	all []runner.Event
}

func (e *events) Event(ev runner.Event) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.all = append(e.all, ev)
}

// of returns the messages of the events of type t for identity ("" = any).
func (e *events) of(t runner.EventType, identity string) []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []string
	for _, ev := range e.all {
		if ev.Type == t && (identity == "" || ev.Identity == identity) {
			out = append(out, ev.Message)
		}
	}
	return out
}

// auditEvents lists the event names of an identity's audit log.
func auditEvents(t *testing.T, d *state.Dir) []string {
	t.Helper()
	data, err := os.ReadFile(d.Join(state.AuditFile))
	if err != nil {
		t.Fatalf("read audit log: %v", err)
	}
	var out []string
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var ev state.AuditEvent
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("audit line %q: %v", line, err)
		}
		out = append(out, ev.Event)
	}
	return out
}
