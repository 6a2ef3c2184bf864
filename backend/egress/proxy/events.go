package proxy

import (
	"encoding/json"
	"io"
	"sort"
	"sync"
	"time"
)

// Event kinds on the proxy's stdout.
const (
	EventReady   = "egress_ready"
	EventDenied  = "egress_denied"
	EventAllowed = "egress_allowed"
	EventGrant   = "egress_grant"
)

// Event is one line of the proxy's report.
type Event struct {
	Time   time.Time `json:"time"`
	Event  string    `json:"event"`
	Host   string    `json:"host,omitempty"`
	Port   int       `json:"port,omitempty"`
	Method string    `json:"method,omitempty"`
	Reason string    `json:"reason,omitempty"`
	// Count is, for EventAllowed, the requests allowed to Host:Port since
	// the previous report of that destination.
	Count int `json:"count,omitempty"`
}

// reporter writes events as JSON lines and keeps the allowed counts until
// they are flushed.
type reporter struct {
	mu     sync.Mutex
	w      io.Writer
	now    func() time.Time
	counts map[dest]int
}

type dest struct {
	host string
	port int
}

func newReporter(w io.Writer, now func() time.Time) *reporter {
	return &reporter{w: w, now: now, counts: map[dest]int{}}
}

func (r *reporter) emit(e Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.write(e)
}

func (r *reporter) write(e Event) {
	e.Time = r.now().UTC()
	b, err := json.Marshal(e)
	if err != nil {
		return
	}
	// A report that cannot be written (stdout closed) must not stop the
	// proxy from enforcing the policy.
	_, _ = r.w.Write(append(b, '\n'))
}

func (r *reporter) allowed(host string, port int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.counts[dest{host, port}]++
}

// flush reports the counts gathered since the last flush.
func (r *reporter) flush() {
	r.mu.Lock()
	defer r.mu.Unlock()
	ds := make([]dest, 0, len(r.counts))
	for d := range r.counts {
		ds = append(ds, d)
	}
	sort.Slice(ds, func(i, j int) bool {
		if ds[i].host != ds[j].host {
			return ds[i].host < ds[j].host
		}
		return ds[i].port < ds[j].port
	})
	for _, d := range ds {
		r.write(Event{Event: EventAllowed, Host: d.host, Port: d.port, Count: r.counts[d]})
	}
	clear(r.counts)
}
