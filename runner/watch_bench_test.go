package runner

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/bottle-dev/bottle/backend"
	"github.com/bottle-dev/bottle/runner/state"
)

// BenchmarkWatchScan is issue 13's watch benchmark over generated state
// dirs: what bottle watch does on an event about one identity (visit)
// and on a full rescan, with 10 and with 1,000 identities. The event cost
// must not grow with the number of identities (ratio-event, 1,000 over
// 10); a full rescan runs on a timer of at least 50 times its own
// duration (2 s at least), so it never takes more than about 2% of a core.
func BenchmarkWatchScan(b *testing.B) {
	watchers := map[int]*watcher{}
	for _, n := range []int{10, 1000} {
		h := state.Home{Path: b.TempDir()}
		for i := range n {
			d, err := h.Create(fmt.Sprintf("gen-%05d", i))
			if err != nil {
				b.Fatal(err)
			}
			md := &state.Metadata{Bottle: "gen", Agent: "box", Backend: backend.Docker, StartedAt: time.Now()}
			if err := d.WriteMetadata(md); err != nil {
				b.Fatal(err)
			}
			if err := os.MkdirAll(d.Join("queue"), 0o700); err != nil {
				b.Fatal(err)
			}
		}
		r := &Runner{Home: h}
		watchers[n] = &watcher{r: r, inflight: map[string]bool{}, seen: map[string]bool{}, failed: map[string]string{}}
	}
	timeIt := func(f func()) time.Duration {
		start := time.Now()
		f()
		return time.Since(start)
	}
	var ev10, ev1000, full10, full1000 []time.Duration
	one := []string{"gen-00003"}
	for b.Loop() {
		ev10 = append(ev10, timeIt(func() { watchers[10].visit(b.Context(), one) }))
		ev1000 = append(ev1000, timeIt(func() { watchers[1000].visit(b.Context(), one) }))
		full10 = append(full10, timeIt(func() { watchers[10].sweep(b.Context()) }))
		full1000 = append(full1000, timeIt(func() { watchers[1000].sweep(b.Context()) }))
	}
	med := func(s []time.Duration) float64 {
		c := append([]time.Duration(nil), s...)
		for i := range c {
			for j := i + 1; j < len(c); j++ {
				if c[j] < c[i] {
					c[i], c[j] = c[j], c[i]
				}
			}
		}
		return float64(c[len(c)/2]) / float64(time.Microsecond)
	}
	b.ReportMetric(med(ev10), "event-10-µs")
	b.ReportMetric(med(ev1000), "event-1000-µs")
	b.ReportMetric(med(ev1000)/med(ev10), "ratio-event")
	b.ReportMetric(med(full10), "rescan-10-µs")
	b.ReportMetric(med(full1000), "rescan-1000-µs")
	b.ReportMetric(0, "ns/op")
}
