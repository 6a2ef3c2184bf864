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
	"unicode/utf8"

	"github.com/bottle-dev/bottle/backend"
	"github.com/bottle-dev/bottle/backend/egress/proxy"
	"github.com/bottle-dev/bottle/runner/state"
)

// maxEgressEvents bounds the events kept from one report; the rest are
// counted in one egress_truncated line.
const maxEgressEvents = 10000

// egressReportTimeout bounds the collection of a proxy's report: a
// teardown goes on without it rather than hang on a proxy that does not
// stop.
const egressReportTimeout = 30 * time.Second

// Bounds of the fields of a reported event: the proxy shares a network
// with the agent, so what it reports is treated as the agent's words.
const (
	maxEventHost   = 255
	maxEventReason = 300
	maxEventMethod = 16
)

// removeInstance removes the instance id of dir's identity and, with it,
// its network and egress proxy. Every path that removes a bottle (a
// session's end, stop, destroy, an approval's teardown, gc, a resume
// replacing a stopped instance) goes through here, so that the proxy's
// report (denials, per-host counts, grants) reaches audit.jsonl first,
// whoever tears the bottle down. dir is nil when the identity has no
// state left to keep it in.
func removeInstance(ctx context.Context, be backend.Backend, dir *state.Dir, id string) error {
	if dir != nil {
		auditEgress(ctx, be, dir)
	}
	return be.Remove(ctx, id)
}

// auditEgress stops the identity's proxy, if it has one, and appends its
// report to audit.jsonl. Best effort: no proxy (no policy, or already torn
// down) or a proxy that does not answer leaves nothing to add.
func auditEgress(ctx context.Context, be backend.Backend, dir *state.Dir) {
	ee, ok := be.(backend.EgressEnforcer)
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, egressReportTimeout)
	defer cancel()
	var buf bytes.Buffer
	if err := ee.CloseEgress(ctx, dir.Identity, &buf); err != nil {
		return
	}
	evs, dropped := parseEvents(&buf)
	lines := make([]state.AuditEvent, 0, len(evs)+1)
	for _, ev := range evs {
		if ev.Event == proxy.EventReady {
			continue
		}
		lines = append(lines, state.AuditEvent{Time: time.Now().UTC(), Event: ev.Event, Details: eventDetails(ev)})
	}
	if dropped > 0 {
		lines = append(lines, state.AuditEvent{Time: time.Now().UTC(), Event: "egress_truncated",
			Details: map[string]string{"dropped": strconv.Itoa(dropped)}})
	}
	_ = dir.AuditEvents(lines)
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

// parseEvents reads a proxy report: lines that are not events of a known
// kind are skipped, fields are clipped, and past maxEgressEvents events
// are only counted (dropped).
func parseEvents(r io.Reader) (out []proxy.Event, dropped int) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		var ev proxy.Event
		if json.Unmarshal(sc.Bytes(), &ev) != nil {
			continue
		}
		switch ev.Event {
		case proxy.EventReady, proxy.EventDenied, proxy.EventAllowed, proxy.EventGrant:
		default:
			continue
		}
		if len(out) == maxEgressEvents {
			dropped++
			continue
		}
		ev.Host = clip(ev.Host, maxEventHost)
		ev.Reason = clip(ev.Reason, maxEventReason)
		ev.Method = clip(ev.Method, maxEventMethod)
		if ev.Port < 0 || ev.Port > 65535 {
			ev.Port = 0
		}
		ev.Count = max(ev.Count, 0)
		out = append(out, ev)
	}
	return out, dropped
}

// clip cuts s to at most n bytes, on a rune boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// EgressEvents returns the egress report of identity: what audit.jsonl
// kept from earlier launches, then what its running proxy reports now.
// Hosts and reasons come from the agent's requests: escape them to print.
func (r *Runner) EgressEvents(ctx context.Context, identity string) ([]proxy.Event, error) {
	dir, err := r.Home.Open(identity)
	if errors.Is(err, os.ErrNotExist) {
		// Torn down: its audit log is kept (state.Dir.Remove).
		kept, kerr := r.Home.KeptAudit(identity)
		if kerr != nil {
			return nil, kerr
		}
		if _, serr := os.Lstat(kept); serr != nil {
			return nil, err
		}
		return auditedEgress(kept)
	}
	if err != nil {
		return nil, err
	}
	out, err := auditedEgress(dir.Join(state.AuditFile))
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
	evs, _ := parseEvents(&buf)
	for _, ev := range evs {
		if ev.Event != proxy.EventReady {
			out = append(out, ev)
		}
	}
	return out, nil
}

// auditedEgress reads the egress events of the audit log at path.
func auditedEgress(path string) ([]proxy.Event, error) {
	f, err := os.Open(path)
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
