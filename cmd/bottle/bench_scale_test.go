package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
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
			st, _, err := src.Overview(b.Context())
			if err != nil || len(st) != n {
				b.Fatalf("status of %d dirs: %d rows, %v", n, len(st), err)
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

// builtCwdHCL is a Dockerfile agent whose folder is also the bottle's
// bind-mounted cwd: the case where every change in the cwd used to rebuild
// the agent image.
const builtCwdHCL = `
agent "box" {
  dockerfile = "Dockerfile"
  context    = "."
  command    = ["sleep", "300"]
}

bottle "built" {
  agent   = agent.box
  backend = "docker"
  cwd {
    path   = "."
    copy   = false
    target = "/work"
  }
}
`

// BenchmarkLaunchBuiltCwd is issue 13's launch benchmark: bottle apply
// --detach of a cached Dockerfile agent with a bind-mounted cwd, a file of
// the cwd changed before every launch, against docker network create +
// docker run -d --network of the same image and mount, target ≤ 1.0×. A
// third arm adds what else bottle's container has (--init and the helper
// and queue mounts). The metric builds counts the launches that built.
func BenchmarkLaunchBuiltCwd(b *testing.B) {
	bn := newBench(b)
	dir := b.TempDir()
	benchWrite(b, dir, "bottle.hcl", builtCwdHCL)
	benchWrite(b, dir, "Dockerfile", "FROM "+benchImage+"\nCOPY run.sh /usr/local/bin/run.sh\n")
	benchWrite(b, dir, "run.sh", "#!/bin/sh\nexec sleep 300\n")
	helper, queue := b.TempDir(), b.TempDir()
	if err := os.Mkdir(filepath.Join(helper, "queue"), 0o755); err != nil {
		b.Fatal(err)
	}
	// The first launch builds; its image is the baselines' image.
	_, id, _ := bn.launch(dir)
	info, err := bn.cli.ContainerInspect(b.Context(), backend.InstanceName(id))
	if err != nil {
		b.Fatal(err)
	}
	img := info.Config.Image
	bn.stop(dir, id)
	bn.later("image", img)

	builds := 0
	arms := []func(i int) (time.Duration, func()){
		func(i int) (time.Duration, func()) { // bottle
			benchWrite(b, dir, "notes.txt", fmt.Sprintf("change %d\n", i))
			d, id, stderr := bn.launch(dir)
			if strings.Contains(stderr, "Step ") {
				builds++
			}
			return d, func() { bn.stop(dir, id) }
		},
		func(i int) (time.Duration, func()) { // network create + run -d --network, same image and mount
			name := fmt.Sprintf("bottle-bench-built-%d-%d", os.Getpid(), i)
			bn.later("network", name)
			bn.later("container", name)
			start := time.Now()
			bn.docker("network", "create", name)
			_, cid := bn.docker("run", "-d", "--network", name, "--name", name, "-v", dir+":/work", "-w", "/work", img, "sleep", "300")
			d := time.Since(start)
			return d, func() { bn.rmContainer(cid); bn.docker("network", "rm", name) }
		},
		func(i int) (time.Duration, func()) { // the same, as bottle's container is
			name := fmt.Sprintf("bottle-bench-builtfull-%d-%d", os.Getpid(), i)
			bn.later("network", name)
			bn.later("container", name)
			start := time.Now()
			bn.docker("network", "create", name)
			_, cid := bn.docker("run", "-d", "--init", "--network", name, "--name", name, "-v", dir+":/work", "-w", "/work",
				"-v", helper+":/run/bottle:ro", "-v", queue+":/run/bottle/queue", img, "sleep", "300")
			d := time.Since(start)
			return d, func() { bn.rmContainer(cid); bn.docker("network", "rm", name) }
		},
	}
	names := []string{"bottle", "docker-net-run", "docker-net-run-init-mounts"}
	for k, arm := range arms {
		_, teardown := arm(-1 - k)
		teardown()
	}
	builds = 0
	got := loopArms(b, arms)
	report(b, names, got)
	b.ReportMetric(ratioOf(got[0], got[2]), "ratio-vs-init-mounts")
	b.ReportMetric(float64(builds), "builds")
}
