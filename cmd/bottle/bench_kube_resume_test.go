package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// BenchmarkKubeResume is issue 14's resume benchmark: bottle resume
// --detach of a bottle whose request was approved (build the per-bottle
// Dockerfile with the local engine, push it, start a new Pod with the
// transcript, release the agent) against the same by hand: docker build of
// the lines approve wrote (FROM the agent's image, from stdin), docker
// push, kubectl run and kubectl wait until Ready, target ≤ 1.2×. Every
// iteration approves a request of its own, with a RUN line no build has
// cached, on either arm.
func BenchmarkKubeResume(b *testing.B) {
	kb := newKubeBench(b)
	dir := b.TempDir()
	benchWrite(b, dir, "bottle.hcl", onCluster(resumeHCL, kb.image))
	nonce := nonces()
	// approved launches a bottle, waits for its request (bottle requests
	// mirrors a detached Pod's queue) and approves it: a preserved state
	// dir with its per-bottle Dockerfile.
	approved := func(n string) string {
		_, id, _ := kb.launch(dir, "--var", "nonce="+n)
		kb.poll("the request of "+id, 2*time.Minute, func() bool {
			_, out, _ := kb.bottle(dir, "requests", "--json")
			return strings.Contains(out, `"`+id+`"`)
		})
		kb.bottle(dir, "approve", id)
		return id
	}
	var template, templateNonce string
	byHand := func(n string) (time.Duration, func()) {
		tag := kb.registry + "/bench-byhand:" + n
		name := "bench-byhand-" + n
		kb.later("image", tag)
		var lines strings.Builder
		for line := range strings.Lines(strings.ReplaceAll(template, templateNonce, n)) {
			if strings.HasPrefix(line, "FROM ") {
				line = "FROM " + kb.image + "\n"
			}
			lines.WriteString(line)
		}
		start := time.Now()
		kb.run(append(os.Environ(), "DOCKER_BUILDKIT=0"), strings.NewReader(lines.String()), "docker", "build", "-q", "-t", tag, "-")
		kb.docker("push", "-q", tag)
		kb.kubectlRun(name, tag)
		d := time.Since(start)
		return d, func() {
			kb.deletePod(name)
			kb.docker("image", "rm", tag)
			kb.deleteRemote(tag)
		}
	}
	// Warm up, and take the Dockerfile approve writes as the by-hand
	// template.
	n := nonce()
	id := approved(n)
	df, err := os.ReadFile(filepath.Join(kb.home, "state", id, "Dockerfile"))
	if err != nil {
		b.Fatalf("approve %s wrote no Dockerfile: %v", id, err)
	}
	template, templateNonce = string(df), n
	b.Logf("per-bottle Dockerfile:\n%s", template)
	kb.bottle(dir, "resume", "--detach", id)
	kb.stop(dir, id)
	kb.dropRegistryImages(id)
	_, teardown := byHand(nonce())
	teardown()

	arms := []func(i int) (time.Duration, func()){
		func(int) (time.Duration, func()) { // bottle resume --detach
			b.StopTimer()
			id := approved(nonce())
			b.StartTimer()
			d, _, _ := kb.bottle(dir, "resume", "--detach", id)
			return d, func() { kb.stop(dir, id); kb.dropRegistryImages(id) }
		},
		func(int) (time.Duration, func()) { // docker build + push + kubectl run + wait
			return byHand(nonce())
		},
	}
	got := loopArms(b, arms)
	report(b, []string{"bottle-resume", "build-push-kubectl-run"}, got)
}
