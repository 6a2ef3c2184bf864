package main

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/bottle-dev/bottle/backend"
	"github.com/bottle-dev/bottle/cmd/bottle/dashboard"
	"github.com/bottle-dev/bottle/runner"
	"github.com/bottle-dev/bottle/runner/state"
)

// genStateDirs makes n state dirs of docker bottles under home, as many
// launches would leave them: metadata, a queue, every tenth preserved. No
// instance exists for any of them (exited bottles).
func genStateDirs(b *testing.B, home string, n int) {
	b.Helper()
	h := state.Home{Path: home}
	for i := range n {
		d, err := h.Create(fmt.Sprintf("gen-%05d", i))
		if err != nil {
			b.Fatal(err)
		}
		md := &state.Metadata{Bottle: "gen", Agent: "box", Backend: backend.Docker, Image: benchImage,
			SessionID: fmt.Sprintf("s-%d", i), StartedAt: time.Now(), Launches: 1}
		if err := d.WriteMetadata(md); err != nil {
			b.Fatal(err)
		}
		if err := os.MkdirAll(d.Join("queue"), 0o700); err != nil {
			b.Fatal(err)
		}
		if i%10 == 0 {
			if err := d.MarkPreserved(); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkList is issue 13's listing benchmark: bottle ls, bottle status
// --json and the dashboard's refresh (Status and Requests, in process) over
// 1,000 generated state dirs against the same over 10, target ≤ 2× each.
// The state dirs are read concurrently and the engine is asked once.
func BenchmarkList(b *testing.B) {
	bn := newBench(b)
	dir := b.TempDir()
	homes := map[int]string{}
	for _, n := range []int{10, 1000} {
		homes[n] = b.TempDir()
		genStateDirs(b, homes[n], n)
	}
	envOf := func(home string) []string { return append(os.Environ(), "BOTTLE_HOME="+home, "NO_COLOR=1") }
	cli := func(n int, args ...string) func() time.Duration {
		return func() time.Duration {
			d, _, _ := bn.run(envOf(homes[n]), nil, bn.bin, append([]string{"--chdir", dir}, args...)...)
			return d
		}
	}
	refresh := func(n int) func() time.Duration {
		r := &runner.Runner{Home: state.Home{Path: homes[n]}, Backend: newBackends(func(string) string { return "" }).get}
		src := dashboard.NewSource(r)
		return func() time.Duration {
			start := time.Now()
			st, err := src.Status(b.Context())
			if err != nil || len(st) != n {
				b.Fatalf("status of %d dirs: %d rows, %v", n, len(st), err)
			}
			if _, err := src.Requests(b.Context()); err != nil {
				b.Fatal(err)
			}
			return time.Since(start)
		}
	}
	names := []string{"ls-1000", "ls-10", "status-1000", "status-10", "refresh-1000", "refresh-10"}
	arms := []func() time.Duration{
		cli(1000, "ls"), cli(10, "ls"),
		cli(1000, "status", "--json"), cli(10, "status", "--json"),
		refresh(1000), refresh(10),
	}
	for _, arm := range arms {
		arm() // warm up: page cache, engine connection
	}
	got := make([]samples, len(arms))
	i := 0
	for b.Loop() {
		for _, k := range order(i, len(arms)) {
			got[k] = append(got[k], arms[k]())
		}
		i++
	}
	report(b, names, got)
	b.ReportMetric(ratioOf(got[2], got[3]), "ratio-status")
	b.ReportMetric(ratioOf(got[4], got[5]), "ratio-refresh")
}
