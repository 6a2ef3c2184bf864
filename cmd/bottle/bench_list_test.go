package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
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
		if i%10 == 0 {
			if err := d.MarkPreserved(); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkList is issue 13's listing benchmark: 1,000 generated state
// dirs against 10, target ≤ 2× each, for
//   - ls, status: bottle ls and bottle status --json (a process each);
//   - refresh: the dashboard's full refresh (every state dir and queue
//     read once, the engine asked once), in process;
//   - change: the dashboard's refresh after the file watch reported one
//     changed queue (that dir read, the engine asked), in process;
//   - floor: the least a full refresh can do, in process: one engine List
//     plus, per state dir, open/read/close of metadata.json, open/getdents/
//     close of the queue and an lstat of the preserve marker, parsing
//     nothing, on GOMAXPROCS goroutines;
//   - version: bottle --version, a process that lists nothing.
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
	source := func(n int) dashboard.Source {
		return dashboard.NewSource(&runner.Runner{Home: state.Home{Path: homes[n]}, Backend: newBackends(func(string) string { return "" }).get})
	}
	refresh := func(n int, changed bool) func() time.Duration {
		src := source(n)
		var paths []string
		if changed {
			paths = []string{filepath.Join(homes[n], "state", "gen-00001", "queue", "r.json")}
		}
		return func() time.Duration {
			start := time.Now()
			st, _, err := src.Refresh(b.Context(), paths, !changed)
			d := time.Since(start)
			if err != nil || len(st) != n {
				b.Fatalf("refresh of %d dirs: %d rows, %v", n, len(st), err)
			}
			return d
		}
	}
	floor := func(n int) func() time.Duration {
		return func() time.Duration {
			start := time.Now()
			if _, err := bn.be.List(b.Context(), nil); err != nil {
				b.Fatal(err)
			}
			if err := bareList(filepath.Join(homes[n], "state")); err != nil {
				b.Fatal(err)
			}
			return time.Since(start)
		}
	}
	names := []string{"ls-1000", "ls-10", "status-1000", "status-10", "refresh-1000", "refresh-10",
		"change-1000", "change-10", "floor-1000", "floor-10", "version"}
	arms := []func() time.Duration{
		cli(1000, "ls"), cli(10, "ls"),
		cli(1000, "status", "--json"), cli(10, "status", "--json"),
		refresh(1000, false), refresh(10, false),
		refresh(1000, true), refresh(10, true),
		floor(1000), floor(10),
		func() time.Duration { d, _, _ := bn.run(envOf(homes[10]), nil, bn.bin, "--version"); return d },
	}
	for _, arm := range arms {
		arm() // warm up: page cache, engine connection, the Listers' first read
	}
	got := make([]samples, len(arms))
	for i := 0; b.Loop(); i++ {
		for _, k := range order(i, len(arms)) {
			got[k] = append(got[k], arms[k]())
		}
	}
	report(b, names, got)
	for _, m := range []struct {
		name string
		k    int
	}{{"status", 2}, {"refresh", 4}, {"change", 6}, {"floor", 8}} {
		b.ReportMetric(ratioOf(got[m.k], got[m.k+1]), "ratio-"+m.name)
		b.Logf("ratio %s-1000/%s-10: %.3f of the medians, %.3f paired", m.name, m.name, ratioOf(got[m.k], got[m.k+1]), pairedRatio(got[m.k], got[m.k+1]))
	}
}

// bareList does the system calls a listing cannot do without, for every
// state dir under root, and nothing else: the floor of BenchmarkList.
func bareList(root string) error {
	ents, err := os.ReadDir(root)
	if err != nil {
		return err
	}
	workers := runtime.GOMAXPROCS(0)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			buf := make([]byte, 8<<10)
			for i := w; i < len(ents); i += workers {
				d := filepath.Join(root, ents[i].Name())
				if err := bareDir(d, buf); err != nil {
					errs[w] = err
					return
				}
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func bareDir(d string, buf []byte) error {
	fd, err := syscall.Open(filepath.Join(d, state.MetadataFile), syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	for {
		n, err := syscall.Read(fd, buf)
		if err != nil || n == 0 {
			break
		}
	}
	syscall.Close(fd)
	if fd, err = syscall.Open(filepath.Join(d, state.QueueDir), syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0); err != nil {
		return err
	}
	for {
		n, err := syscall.ReadDirent(fd, buf)
		if err != nil || n == 0 {
			break
		}
	}
	syscall.Close(fd)
	var st syscall.Stat_t
	_ = syscall.Lstat(filepath.Join(d, state.PreserveFile), &st)
	return nil
}
