package main

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/bottle-dev/bottle/backend"
)

// BenchmarkEgressLaunch is issue 11's launch benchmark: bottle apply
// --detach of a cached busybox bottle with an egress block against the
// same bottle without one, target ≤ 1.3×. The proxy image is built in the
// warm-up, as a second launch of the same bottle binary finds it.
//
// A third arm builds the same isolation by hand with the docker CLI: an
// internal network, an outbound one, the proxy image started on both (held
// open on its stdin, as it waits for its policy), then the agent on the
// internal network. It is the floor of any design that starts the proxy
// before the agent on this engine: two container starts in sequence.
//
//	BOTTLE_DOCKER_TESTS=1 go test -run '^$' -bench EgressLaunch -benchtime 8x ./cmd/bottle
func BenchmarkEgressLaunch(b *testing.B) {
	bn := newBench(b)
	open, egress := b.TempDir(), b.TempDir()
	benchWrite(b, open, "bottle.hcl", launchHCL)
	benchWrite(b, egress, "bottle.hcl", `
agent "box" {
  image   = "busybox:latest"
  command = ["sleep", "300"]
}

bottle "launch" {
  agent   = agent.box
  backend = "docker"
  egress { allow = ["example.com"] }
}
`)
	arm := func(dir string) func(int) (time.Duration, func()) {
		return func(int) (time.Duration, func()) {
			d, id, _ := bn.launch(dir)
			return d, func() { bn.stop(dir, id) }
		}
	}
	// The warm-up builds the proxy image; the by-hand arm uses the same.
	_, id, _ := bn.launch(egress)
	info, err := bn.cli.ContainerInspect(b.Context(), backend.ProxyName(id))
	if err != nil {
		b.Fatal(err)
	}
	proxyImage := info.Config.Image
	bn.stop(egress, id)
	byHand := func(i int) (time.Duration, func()) {
		name := fmt.Sprintf("bottle-bench-egress-%d-%d", os.Getpid(), i)
		for _, n := range []string{name, name + "-out"} {
			bn.later("network", n)
		}
		for _, c := range []string{name, name + "-proxy"} {
			bn.later("container", c)
		}
		start := time.Now()
		bn.docker("network", "create", "--internal", name)
		bn.docker("network", "create", name+"-out")
		bn.docker("create", "-i", "--name", name+"-proxy", "--network", name+"-out", proxyImage)
		bn.docker("network", "connect", name, name+"-proxy")
		bn.docker("start", name+"-proxy")
		bn.docker("run", "-d", "--network", name, "--name", name, benchImage, "sleep", "300")
		d := time.Since(start)
		return d, func() {
			bn.docker("rm", "-f", name, name+"-proxy")
			bn.docker("network", "rm", name, name+"-out")
		}
	}
	arms := []func(int) (time.Duration, func()){arm(egress), arm(open), byHand}
	_, teardown := arms[1](-1)
	teardown()
	_, teardown = byHand(-2)
	teardown()
	got := loopArms(b, arms)
	b.ReportMetric(ms(got[2].median()), "by-hand-ms")
	b.ReportMetric(ratioOf(got[0], got[2]), "ratio-vs-by-hand")
	b.Logf("by hand (two networks, proxy, agent) median %.0f ms %s; egress/by-hand %.3f of the medians, %.3f paired",
		ms(got[2].median()), got[2], ratioOf(got[0], got[2]), pairedRatio(got[0], got[2]))
	report(b, []string{"egress", "open"}, got[:2])
}
