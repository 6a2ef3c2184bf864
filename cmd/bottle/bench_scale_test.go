package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bottle-dev/bottle/backend"
)

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
