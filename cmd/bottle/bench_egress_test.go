package main

import (
	"testing"
	"time"
)

// BenchmarkEgressLaunch is issue 11's launch benchmark: bottle apply
// --detach of a cached busybox bottle with an egress block against the
// same bottle without one, target ≤ 1.3×. The proxy image is built in the
// warm-up, as a second launch of the same bottle binary finds it.
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
	arms := []func(int) (time.Duration, func()){arm(egress), arm(open)}
	for k, a := range arms {
		_, teardown := a(-1 - k)
		teardown()
	}
	report(b, []string{"egress", "open"}, loopArms(b, arms))
}
