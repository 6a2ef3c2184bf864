package runner

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/bottle-dev/bottle/backend"
	"github.com/bottle-dev/bottle/backend/egress"
	"github.com/bottle-dev/bottle/backend/egress/proxy"
	"github.com/bottle-dev/bottle/backend/fake"
	"github.com/bottle-dev/bottle/runner/state"
)

// reportingFake is the fake backend with a proxy report to close.
type reportingFake struct {
	*fake.Backend
	report string
	closed int
}

func (f *reportingFake) Grant(context.Context, string, []egress.Rule) error { return nil }
func (f *reportingFake) EgressLog(_ context.Context, _ string, w io.Writer) error {
	_, err := io.WriteString(w, f.report)
	return err
}
func (f *reportingFake) CloseEgress(ctx context.Context, id string, w io.Writer) error {
	f.closed++
	if f.closed > 1 {
		return fmt.Errorf("proxy of %s: %w", id, backend.ErrNotFound)
	}
	return f.EgressLog(ctx, id, w)
}

// TestAuditEgress: a proxy's denials, counts and grants land in
// audit.jsonl at teardown, lines that are not events are skipped, and
// EgressEvents reads them back (the proxy gone).
func TestAuditEgress(t *testing.T) {
	home := state.Home{Path: t.TempDir()}
	dir, err := home.Create("b-k3x9a")
	if err != nil {
		t.Fatal(err)
	}
	be := &reportingFake{Backend: fake.New(), report: `{"time":"2026-01-02T03:04:05Z","event":"egress_ready"}
not json
{"time":"2026-01-02T03:04:06Z","event":"egress_denied","host":"evil.example","port":443,"method":"CONNECT","reason":"evil.example:443 is not in this bottle's egress allowlist"}
{"time":"2026-01-02T03:04:07Z","event":"egress_allowed","host":"api.example.com","port":443,"count":3}
{"time":"2026-01-02T03:04:08Z","event":"egress_grant","host":"pypi.org","port":443}
`}
	auditEgress(t.Context(), be, dir)
	auditEgress(t.Context(), be, dir) // the proxy is gone: nothing more
	r := &Runner{Home: home, Backend: func(string) (backend.Backend, error) { return be, nil }}
	if err := dir.WriteMetadata(&state.Metadata{Bottle: "b", Backend: "docker"}); err != nil {
		t.Fatal(err)
	}
	be.report = "" // the live proxy has nothing new
	events, err := r.EgressEvents(t.Context(), "b-k3x9a")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{proxy.EventDenied + " evil.example:443", proxy.EventAllowed + " api.example.com:443 3", proxy.EventGrant + " pypi.org:443"}
	if len(events) != len(want) {
		t.Fatalf("events %+v", events)
	}
	for i, ev := range events {
		got := fmt.Sprintf("%s %s:%d", ev.Event, ev.Host, ev.Port)
		if ev.Count != 0 {
			got += fmt.Sprintf(" %d", ev.Count)
		}
		if got != want[i] || ev.Time.IsZero() {
			t.Errorf("event %d = %q (%v), want %q", i, got, ev.Time, want[i])
		}
	}
}

// TestAuditEgressUntrustedReport: the report is the proxy's, which shares
// a network with the agent: unknown events are dropped, fields clipped,
// ports and counts out of range zeroed, and past maxEgressEvents the
// events are only counted; after the state dir is removed, its audit log
// is kept and EgressEvents still reads it.
func TestAuditEgressUntrustedReport(t *testing.T) {
	home := state.Home{Path: t.TempDir()}
	dir, err := home.Create("b-u7q2z")
	if err != nil {
		t.Fatal(err)
	}
	var report strings.Builder
	report.WriteString(`{"event":"approval","host":"forged"}` + "\n")
	fmt.Fprintf(&report, `{"time":"2026-01-02T03:04:06Z","event":"egress_denied","host":%q,"port":70000,"reason":%q,"count":-4}`+"\n",
		strings.Repeat("h", 5000), strings.Repeat("é", 1000))
	for i := range maxEgressEvents + 5 {
		fmt.Fprintf(&report, `{"event":"egress_denied","host":"x%d.example","port":443}`+"\n", i)
	}
	be := &reportingFake{Backend: fake.New(), report: report.String()}
	if err := removeInstance(t.Context(), be, dir, "bottle-b-u7q2z"); err != nil {
		t.Fatal(err)
	}
	if err := dir.WriteMetadata(&state.Metadata{Bottle: "b", Backend: "docker"}); err != nil {
		t.Fatal(err)
	}
	if err := dir.Remove(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(home.Path, state.KeptAuditDir, "b-u7q2z.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), "forged") {
		t.Error("an unknown event of the report reached the audit log")
	}
	if !strings.Contains(string(data), `"event":"egress_truncated","details":{"dropped":"6"}`) {
		t.Errorf("no count of the dropped events in %.300s...", data[len(data)-300:])
	}
	r := &Runner{Home: home, Backend: func(string) (backend.Backend, error) { return be, nil }}
	events, err := r.EgressEvents(t.Context(), "b-u7q2z")
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != maxEgressEvents {
		t.Fatalf("%d events, want %d", len(events), maxEgressEvents)
	}
	first := events[0]
	if len(first.Host) != maxEventHost || len(first.Reason) > maxEventReason || !utf8.ValidString(first.Reason) || first.Port != 0 || first.Count != 0 {
		t.Errorf("first event not clipped: host %d bytes, reason %d bytes, port %d, count %d", len(first.Host), len(first.Reason), first.Port, first.Count)
	}
}
