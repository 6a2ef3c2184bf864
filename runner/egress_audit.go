package runner

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/bottle-dev/bottle/backend"
	"github.com/bottle-dev/bottle/backend/egress/proxy"
	"github.com/bottle-dev/bottle/runner/state"
)

// maxEgressEvents bounds the events read from one report.
const maxEgressEvents = 100000

// auditEgress stops the identity's proxy, if it has one, and appends its
// report (denials, per-host counts, grants) to audit.jsonl. Called before
// a teardown: afterwards the proxy and its report are gone.
func auditEgress(ctx context.Context, be backend.Backend, dir *state.Dir) {
	ee, ok := be.(backend.EgressEnforcer)
	if !ok {
		return
	}
	var buf bytes.Buffer
	if err := ee.CloseEgress(ctx, dir.Identity, &buf); err != nil {
		return // no proxy (no policy, or already torn down)
	}
	for _, ev := range parseEvents(&buf) {
		if ev.Event == proxy.EventReady {
			continue
		}
		_ = dir.Audit(ev.Event, eventDetails(ev))
	}
}

func eventDetails(ev proxy.Event) map[string]string {
	d := map[string]string{"at": ev.Time.Format(time.RFC3339Nano), "host": ev.Host}
	if ev.Port != 0 {
		d["port"] = strconv.Itoa(ev.Port)
	}
	if ev.Reason != "" {
		d["reason"] = ev.Reason
	}
	if ev.Method != "" {
		d["method"] = ev.Method
	}
	if ev.Count != 0 {
		d["count"] = strconv.Itoa(ev.Count)
	}
	return d
}

// parseEvents reads a proxy report, skipping lines that are not events.
func parseEvents(r io.Reader) []proxy.Event {
	var out []proxy.Event
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() && len(out) < maxEgressEvents {
		var ev proxy.Event
		if json.Unmarshal(sc.Bytes(), &ev) == nil && ev.Event != "" {
			out = append(out, ev)
		}
	}
	return out
}

// EgressEvents returns the egress report of identity: what audit.jsonl
// kept from earlier launches, then what its running proxy reports now.
// Hosts and reasons come from the agent's requests: escape them to print.
func (r *Runner) EgressEvents(ctx context.Context, identity string) ([]proxy.Event, error) {
	dir, err := r.Home.Open(identity)
	if err != nil {
		return nil, err
	}
	out, err := auditedEgress(dir)
	if err != nil {
		return nil, err
	}
	be, err := r.backendOf(dir)
	if err != nil {
		return nil, err
	}
	ee, ok := be.(backend.EgressEnforcer)
	if !ok {
		return out, nil
	}
	var buf bytes.Buffer
	if err := ee.EgressLog(ctx, identity, &buf); err != nil && !errors.Is(err, backend.ErrNotFound) {
		return nil, fmt.Errorf("egress log of %s: %w", identity, err)
	}
	for _, ev := range parseEvents(&buf) {
		if ev.Event != proxy.EventReady {
			out = append(out, ev)
		}
	}
	return out, nil
}

// auditedEgress reads the egress events of audit.jsonl.
func auditedEgress(dir *state.Dir) ([]proxy.Event, error) {
	f, err := os.Open(dir.Join(state.AuditFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []proxy.Event
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		var a state.AuditEvent
		if json.Unmarshal(sc.Bytes(), &a) != nil {
			continue
		}
		switch a.Event {
		case proxy.EventDenied, proxy.EventAllowed, proxy.EventGrant:
		default:
			continue
		}
		ev := proxy.Event{Event: a.Event, Host: a.Details["host"], Reason: a.Details["reason"], Method: a.Details["method"]}
		ev.Time, _ = time.Parse(time.RFC3339Nano, a.Details["at"])
		ev.Port, _ = strconv.Atoi(a.Details["port"])
		ev.Count, _ = strconv.Atoi(a.Details["count"])
		out = append(out, ev)
	}
	return out, sc.Err()
}
