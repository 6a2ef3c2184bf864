package runner

import (
	"bytes"
	"testing"
	"unicode/utf8"

	"github.com/bottle-dev/bottle/backend/egress/proxy"
)

// FuzzParseEvents: whatever a proxy (which shares a network with the
// agent) reports, parseEvents keeps only events of known kinds, with
// fields inside their bounds, and never more than maxEgressEvents.
func FuzzParseEvents(f *testing.F) {
	f.Add([]byte(`{"time":"2026-01-02T03:04:06Z","event":"egress_denied","host":"evil.example","port":443,"reason":"no"}` + "\n"))
	f.Add([]byte(`{"event":"egress_allowed","host":"a","port":-1,"count":-5}` + "\n" + `{"event":"approval"}` + "\nnot json\n"))
	f.Add([]byte(`{"event":"egress_grant","host":"\u00e9\u00e9\u00e9","method":"CONNECTCONNECTCONNECT"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		evs, dropped := parseEvents(bytes.NewReader(data))
		if len(evs) > maxEgressEvents || dropped < 0 {
			t.Fatalf("%d events, %d dropped", len(evs), dropped)
		}
		for _, ev := range evs {
			switch ev.Event {
			case proxy.EventReady, proxy.EventDenied, proxy.EventAllowed, proxy.EventGrant:
			default:
				t.Fatalf("event of unknown kind %q kept", ev.Event)
			}
			if len(ev.Host) > maxEventHost || len(ev.Reason) > maxEventReason || len(ev.Method) > maxEventMethod {
				t.Fatalf("field not clipped: %+v", ev)
			}
			// JSON decoding makes the strings valid UTF-8; clipping keeps them so.
			if !utf8.ValidString(ev.Host) || !utf8.ValidString(ev.Reason) || !utf8.ValidString(ev.Method) || ev.Port < 0 || ev.Port > 65535 || ev.Count < 0 {
				t.Fatalf("field out of range: %+v", ev)
			}
		}
	})
}
