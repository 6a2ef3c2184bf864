package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/client"

	"github.com/bottle-dev/bottle/backend"
	"github.com/bottle-dev/bottle/backend/backendtest"
	"github.com/bottle-dev/bottle/backend/buildctx"
	"github.com/bottle-dev/bottle/backend/docker"
)

// The benchmarks of issues 3 and 4 (§5 of each): bottle against the plain
// Docker CLI doing the same job, on the real engine, in one run. They are
// benchmarks, not tests: nothing here asserts a duration.
//
// The machine is shared and noisy, so every benchmark interleaves its arms
// (each iteration runs every arm once, in an order that rotates so that no
// arm always runs first or on a warmer engine), times each arm itself,
// tears it down untimed, and reports the median of each arm and the ratio
// of the first two medians (bottle / baseline) through b.ReportMetric; the
// per-iteration samples are logged with the paired ratio (the median of the
// per-iteration ratios). The built-in ns/op, which would mix the arms, is
// suppressed.
//
// bottle runs as a separately built, non-race binary (BOTTLE_BENCH_BIN, or
// built here with go build), so -race on the test binary does not distort
// it. The copy stream arm runs in this process: do not use -race for these.
//
//	BOTTLE_DOCKER_TESTS=1 go test -run '^$' -bench . -benchtime 5x -timeout 90m ./cmd/bottle
//
// scripts/bench runs them and prints a table of the ratios.

// benchImage is the base image every arm uses; scripts/docker-up builds it
// locally. Nothing is ever pulled.
const benchImage = "busybox:latest"

// bench is one benchmark's bottle binary, BOTTLE_HOME and engine clients.
type bench struct {
	b    *testing.B
	bin  string
	home string
	env  []string
	cli  *client.Client
	be   *docker.Backend
}

func newBench(b *testing.B) *bench {
	b.Helper()
	if os.Getenv("BOTTLE_DOCKER_TESTS") != "1" {
		b.Skip("set BOTTLE_DOCKER_TESTS=1 to run the benchmarks on a real Docker engine (scripts/bench does)")
	}
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		b.Fatalf("docker client: %v", err)
	}
	b.Cleanup(func() { _ = cli.Close() })
	ctx, cancel := context.WithTimeout(b.Context(), 5*time.Second)
	defer cancel()
	if _, err := cli.Ping(ctx); err != nil {
		b.Fatalf("BOTTLE_DOCKER_TESTS=1 but the Docker engine does not answer: %v (scripts/docker-up starts one)", err)
	}
	if _, err := cli.ImageInspect(ctx, benchImage); err != nil {
		b.Fatalf("%s is not on the engine (%v): scripts/docker-up builds it; nothing is pulled", benchImage, err)
	}
	be, err := docker.New(b.Context())
	if err != nil {
		b.Fatal(err)
	}
	bn := &bench{b: b, bin: benchBinary(b), cli: cli, be: be}
	bn.setHome(b.TempDir())
	return bn
}

// setHome gives the benchmark its own BOTTLE_HOME, swept at the end.
func (bn *bench) setHome(home string) {
	bn.home = home
	bn.env = append(os.Environ(), "BOTTLE_HOME="+home, "NO_COLOR=1")
	bn.b.Cleanup(func() { bn.sweep(home) })
}

// sweep removes what a failed benchmark left of its bottles: those of
// home's state dirs, and their images. (later does the baselines'.)
func (bn *bench) sweep(home string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	entries, _ := os.ReadDir(filepath.Join(home, "state"))
	for _, en := range entries {
		_ = bn.be.Remove(ctx, backend.InstanceName(en.Name()))
		out, _ := exec.CommandContext(ctx, "docker", "image", "ls", "-q", "--filter", "label="+backend.LabelIdentity+"="+en.Name()).Output()
		for _, img := range strings.Fields(string(out)) {
			_ = exec.CommandContext(ctx, "docker", "image", "rm", "-f", img).Run()
		}
	}
	removeCwdImages(ctx, home)
}

// later removes a baseline's resource when the benchmark ends, whatever
// happened; kind is container, network or image.
func (bn *bench) later(kind, name string) {
	bn.b.Cleanup(func() {
		args := []string{kind, "rm", name}
		if kind == "container" {
			args = []string{"rm", "-f", "-v", name}
		}
		cmd := exec.Command("docker", args...)
		_ = cmd.Run() // usually gone already
	})
}

// benchBinary returns a non-race bottle binary: BOTTLE_BENCH_BIN when set
// (scripts/bench builds one), or one built now.
func benchBinary(b *testing.B) string {
	b.Helper()
	if p := os.Getenv("BOTTLE_BENCH_BIN"); p != "" {
		return p
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	bin := filepath.Join(b.TempDir(), "bottle")
	out, err := exec.CommandContext(b.Context(), goBin, "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		b.Fatalf("go build bottle: %v\n%s", err, out)
	}
	return bin
}

// run runs a command and returns its duration (fork to exit), stdout and
// stderr; a failure is fatal.
func (bn *bench) run(env []string, stdin io.Reader, name string, args ...string) (time.Duration, string, string) {
	bn.b.Helper()
	ctx, cancel := context.WithTimeout(bn.b.Context(), 5*time.Minute)
	defer cancel()
	c := exec.CommandContext(ctx, name, args...)
	c.Env = env
	c.Stdin = stdin
	var out, errb bytes.Buffer
	c.Stdout, c.Stderr = &out, &errb
	start := time.Now()
	err := c.Run()
	d := time.Since(start)
	if err != nil {
		bn.b.Fatalf("%s %s: %v\nstdout:\n%s\nstderr:\n%s", name, strings.Join(args, " "), err, out.String(), errb.String())
	}
	return d, out.String(), errb.String()
}

// bottle runs the bottle binary in dir with this benchmark's BOTTLE_HOME.
func (bn *bench) bottle(dir string, args ...string) (time.Duration, string, string) {
	bn.b.Helper()
	return bn.run(bn.env, nil, bn.bin, append([]string{"--chdir", dir}, args...)...)
}

// docker runs the docker CLI (the legacy builder, as bottle uses).
func (bn *bench) docker(args ...string) (time.Duration, string) {
	bn.b.Helper()
	d, out, _ := bn.run(append(os.Environ(), "DOCKER_BUILDKIT=0"), nil, "docker", args...)
	return d, strings.TrimSpace(out)
}

// launch runs bottle apply --detach and returns its duration and identity.
func (bn *bench) launch(dir string, args ...string) (time.Duration, string, string) {
	bn.b.Helper()
	d, _, stderr := bn.bottle(dir, append([]string{"apply", "--detach", "--auto-approve"}, args...)...)
	ids := identities(stderr)
	if len(ids) != 1 {
		bn.b.Fatalf("apply launched %v, want one identity:\n%s", ids, stderr)
	}
	return d, ids[0], stderr
}

// stop tears a bottle down (untimed) and removes the images built for it.
func (bn *bench) stop(dir, id string) {
	bn.b.Helper()
	bn.bottle(dir, "stop", id)
	bn.waitGone(id)
	bn.removeImages(id)
}

// waitGone waits for the state dir of id to go (a watch that resumed it
// makes the cleanup decision when its session ends).
func (bn *bench) waitGone(id string) {
	bn.b.Helper()
	p := filepath.Join(bn.home, "state", id)
	deadline := time.Now().Add(time.Minute)
	for {
		if _, err := os.Lstat(p); errors.Is(err, fs.ErrNotExist) {
			return
		}
		if time.Now().After(deadline) {
			audit, _ := os.ReadFile(filepath.Join(p, "audit.jsonl"))
			_, ls, _ := bn.run(bn.env, nil, bn.bin, "ls")
			bn.b.Fatalf("timed out after 1m waiting for the state dir of %s to go\naudit.jsonl:\n%s\nbottle ls:\n%s", id, audit, ls)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// removeImages removes the per-bottle images of id. Never bottle gc: other
// sessions share this engine, and their bottles have no state dir in this
// benchmark's BOTTLE_HOME.
func (bn *bench) removeImages(id string) {
	bn.b.Helper()
	_, ids := bn.docker("image", "ls", "-q", "--filter", "label="+backend.LabelIdentity+"="+id)
	if ids == "" {
		return
	}
	bn.docker(append([]string{"image", "rm", "-f"}, strings.Fields(ids)...)...)
}

// rmContainer removes a baseline container (untimed).
func (bn *bench) rmContainer(id string) {
	bn.b.Helper()
	bn.docker("rm", "-f", "-v", id)
}

// poll checks cond every 10 ms until it holds; it fails after d.
func (bn *bench) poll(what string, d time.Duration, cond func() bool) {
	bn.b.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			bn.b.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// startedAt polls the engine until the container name runs and returns
// when it started, as the engine recorded it: the poll interval does not
// limit the precision.
func (bn *bench) startedAt(name string, d time.Duration) time.Time {
	bn.b.Helper()
	var at time.Time
	bn.poll(name+" to run", d, func() bool {
		info, err := bn.cli.ContainerInspect(bn.b.Context(), name)
		if err != nil || info.State == nil || !info.State.Running {
			return false
		}
		t, err := time.Parse(time.RFC3339Nano, info.State.StartedAt)
		if err != nil {
			bn.b.Fatalf("%s: started at %q: %v", name, info.State.StartedAt, err)
		}
		at = t
		return true
	})
	return at
}

// benchWrite writes a file under dir.
func benchWrite(b *testing.B, dir, name, content string) {
	b.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		b.Fatal(err)
	}
}

// samples are one arm's durations.
type samples []time.Duration

func (s samples) median() time.Duration {
	if len(s) == 0 {
		return 0
	}
	c := slices.Clone(s)
	slices.Sort(c)
	if n := len(c); n%2 == 0 {
		return (c[n/2-1] + c[n/2]) / 2
	}
	return c[len(c)/2]
}

func (s samples) String() string {
	parts := make([]string, len(s))
	for i, d := range s {
		parts[i] = fmt.Sprintf("%.0f", ms(d))
	}
	return "[" + strings.Join(parts, " ") + "] ms"
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// pairedRatio is the median of the per-iteration ratios a[i]/b[i]: the
// arms of one iteration ran back to back, so it cancels slow drifts of the
// machine's load that the ratio of the medians does not.
func pairedRatio(a, b samples) float64 {
	r := make([]float64, len(a))
	for i := range a {
		r[i] = float64(a[i]) / float64(b[i])
	}
	slices.Sort(r)
	if n := len(r); n%2 == 0 {
		return (r[n/2-1] + r[n/2]) / 2
	}
	return r[len(r)/2]
}

// report reports the medians of the arms in ms and the ratio of the first
// two arms' medians (the target's ratio), and logs every sample.
func report(b *testing.B, names []string, arms []samples) {
	b.Helper()
	for i, name := range names {
		b.ReportMetric(ms(arms[i].median()), name+"-ms")
		b.Logf("%-22s median %7.0f ms  %s", name, ms(arms[i].median()), arms[i])
	}
	ratio := ratioOf(arms[0], arms[1])
	b.ReportMetric(ratio, "ratio")
	b.Logf("ratio %s/%s: %.3f of the medians, %.3f paired", names[0], names[1], ratio, pairedRatio(arms[0], arms[1]))
	b.ReportMetric(0, "ns/op")
}

// loopArms times the arms in turn, in a rotating order, once per b.Loop
// iteration; each arm's teardown runs off the clock.
func loopArms(b *testing.B, arms []func(i int) (time.Duration, func())) []samples {
	got := make([]samples, len(arms))
	for i := 0; b.Loop(); i++ {
		for _, k := range order(i, len(arms)) {
			d, teardown := arms[k](i)
			b.StopTimer()
			teardown()
			b.StartTimer()
			got[k] = append(got[k], d)
		}
	}
	return got
}

// order returns the arm indices for iteration i: a rotation, so every arm
// runs in every position equally often.
func order(i, arms int) []int {
	o := make([]int, arms)
	for k := range o {
		o[k] = (i + k) % arms
	}
	return o
}

const launchHCL = `
agent "box" {
  image   = "busybox:latest"
  command = ["sleep", "300"]
}

bottle "launch" {
  agent   = agent.box
  backend = "docker"
}
`

// BenchmarkLaunch is issue 3's launch benchmark: bottle apply --detach of a
// cached bottle (an image agent, no cwd) against docker run -d of the same
// image and command, target ≤ 1.15×. Two more arms show what the gap is
// made of: docker network create + docker run -d --init --network with
// bottle's two mounts (what bottle's launch does, by hand, though in two CLI
// processes to bottle's one), and the same run on one network made once.
func BenchmarkLaunch(b *testing.B) {
	bn := newBench(b)
	dir := b.TempDir()
	benchWrite(b, dir, "bottle.hcl", launchHCL)
	// bottle's two mounts: the helper dir, read-only, and the queue inside.
	helper, queue := b.TempDir(), b.TempDir()
	if err := os.Mkdir(filepath.Join(helper, "queue"), 0o755); err != nil {
		b.Fatal(err)
	}

	arms := []func(i int) (time.Duration, func()){
		func(int) (time.Duration, func()) { // bottle
			d, id, _ := bn.launch(dir)
			return d, func() { bn.stop(dir, id) }
		},
		func(i int) (time.Duration, func()) { // docker run -d
			name := fmt.Sprintf("bottle-bench-run-%d-%d", os.Getpid(), i)
			bn.later("container", name)
			d, cid := bn.docker("run", "-d", "--name", name, benchImage, "sleep", "300")
			return d, func() { bn.rmContainer(cid) }
		},
		func(i int) (time.Duration, func()) { // docker, as bottle creates it
			name := fmt.Sprintf("bottle-bench-net-%d-%d", os.Getpid(), i)
			bn.later("network", name)
			bn.later("container", name)
			start := time.Now()
			bn.docker("network", "create", name)
			_, cid := bn.docker("run", "-d", "--init", "--network", name, "--name", name,
				"-v", helper+":/run/bottle:ro", "-v", queue+":/run/bottle/queue", benchImage, "sleep", "300")
			d := time.Since(start)
			return d, func() { bn.rmContainer(cid); bn.docker("network", "rm", name) }
		},
	}
	// What bottle would cost with one shared network made once (with
	// inter-container traffic off, so bottles still cannot reach each
	// other) instead of a network per identity.
	shared := fmt.Sprintf("bottle-bench-shared-%d", os.Getpid())
	bn.docker("network", "create", "-o", "com.docker.network.bridge.enable_icc=false", shared)
	bn.later("network", shared)
	arms = append(arms, func(i int) (time.Duration, func()) {
		name := fmt.Sprintf("bottle-bench-shared-%d-%d", os.Getpid(), i)
		bn.later("container", name)
		d, cid := bn.docker("run", "-d", "--init", "--network", shared, "--name", name,
			"-v", helper+":/run/bottle:ro", "-v", queue+":/run/bottle/queue", benchImage, "sleep", "300")
		return d, func() { bn.rmContainer(cid) }
	})
	names := []string{"bottle", "docker-run", "docker-run-net-init", "docker-run-sharednet-init"}

	// Warm up every arm once: page cache, engine caches, the helper dir.
	for k, arm := range arms {
		_, teardown := arm(-1 - k)
		teardown()
	}
	got := loopArms(b, arms)
	report(b, names, got)
	b.ReportMetric(ratioOf(got[0], got[2]), "ratio-vs-net-init")
	b.ReportMetric(ratioOf(got[3], got[1]), "ratio-sharednet-vs-run")
}

// The copy benchmark tree: 20,000 files, 200 MiB.
const (
	copyFiles = 20_000
	copyBytes = 200 << 20
)

const copyHCL = `
agent "box" {
  dockerfile = "agent/Dockerfile"
  command    = ["sleep", "300"]
}

bottle "copy" {
  agent   = agent.box
  backend = "docker"
  cwd {
    path   = "tree"
    copy   = true
    target = "/dst"
  }
}

bottle "nocwd" {
  agent   = agent.box
  backend = "docker"
}
`

// BenchmarkCwdCopy is issue 3's copy benchmark on a generated 20,000-file,
// 200 MiB tree (generated once):
//
//   - Stream: bottle's copy path (buildctx.Tar streamed into
//     (*docker.Backend).CopyIn of a created container, as bottle apply does
//     for copy = true) against docker cp TREE/. C:/dst into a created
//     container; throughput ratio, target ≥ 0.8× docker cp.
//   - Apply: bottle apply --detach with copy = true of the tree, after a
//     change of one small file (timed until the agent runs: the copy into
//     the bottle; the apply then stays to cache the tree as a bottle-cwd
//     image) and unchanged (started from that image, nothing copied),
//     against docker create + docker cp + docker start, and bottle apply
//     of the same agent with no cwd.
func BenchmarkCwdCopy(b *testing.B) {
	bn := newBench(b)
	dir := b.TempDir()
	tree := filepath.Join(dir, "tree")
	start := time.Now()
	if err := backendtest.GenerateTree(tree, copyFiles, copyBytes); err != nil {
		b.Fatal(err)
	}
	b.Logf("generated %d files, %d bytes in %s", copyFiles, copyBytes, time.Since(start).Round(time.Millisecond))
	last := lastFile(b, tree)

	b.Run("Stream", func(b *testing.B) {
		bn := bn.with(b)
		n := 0
		created := func() string {
			n++
			name := fmt.Sprintf("bottle-bench-copy-%d-%d", os.Getpid(), n)
			bn.later("container", name)
			bn.docker("create", "--name", name, benchImage, "true")
			return name
		}
		arms := []func() (time.Duration, string){
			func() (time.Duration, string) { // bottle: buildctx.Tar → CopyIn
				cid := created()
				ctx := b.Context()
				start := time.Now()
				pr, pw := io.Pipe()
				go func() { pw.CloseWithError(buildctx.Tar(ctx, tree, nil, pw)) }()
				err := bn.be.CopyIn(ctx, cid, "/dst", pr, nil)
				_ = pr.CloseWithError(errors.New("copy ended"))
				d := time.Since(start)
				if err != nil {
					b.Fatal(err)
				}
				return d, cid
			},
			func() (time.Duration, string) { // docker cp
				cid := created()
				d, _ := bn.docker("cp", tree+"/.", cid+":/dst")
				return d, cid
			},
		}
		// Warm up, and check once that both copies are complete.
		for _, arm := range arms {
			_, cid := arm()
			bn.checkCopied(cid, "/dst", tree, last)
			bn.rmContainer(cid)
		}
		got := make([]samples, len(arms))
		i := 0
		for b.Loop() {
			for _, k := range order(i, len(arms)) {
				d, cid := arms[k]()
				b.StopTimer()
				bn.rmContainer(cid)
				b.StartTimer()
				got[k] = append(got[k], d)
			}
			i++
		}
		mbps := func(d time.Duration) float64 { return float64(copyBytes) / 1e6 / d.Seconds() }
		for k, name := range []string{"bottle", "docker-cp"} {
			b.ReportMetric(mbps(got[k].median()), name+"-MB/s")
			b.Logf("%-10s median %6.0f ms = %6.1f MB/s  %s", name, ms(got[k].median()), mbps(got[k].median()), got[k])
		}
		// Throughput ratio: docker cp's time over bottle's.
		ratio := ratioOf(got[1], got[0])
		b.ReportMetric(ratio, "ratio")
		b.Logf("throughput ratio bottle/docker cp: %.3f of the medians, %.3f paired", ratio, pairedRatio(got[1], got[0]))
		b.ReportMetric(0, "ns/op")
	})

	b.Run("Apply", func(b *testing.B) {
		bn := bn.with(b)
		benchWrite(b, dir, "bottle.hcl", copyHCL)
		// Unique content, so this benchmark's agent image is its own; it is
		// removed at the end.
		benchWrite(b, dir, "agent/Dockerfile", fmt.Sprintf("FROM %s\nRUN echo bottle-bench > /etc/bottle-bench\n", benchImage))

		// The first launch builds the agent image when it is not cached,
		// and copies the tree into its bottle-cwd image.
		first, id, stderr := bn.launch(dir, "copy")
		bn.checkCopied("bottle-"+id, "/dst", tree, last)
		image := bn.agentImage(dir)
		bn.stop(dir, id)
		b.Cleanup(func() { _ = exec.Command("docker", "image", "rm", image).Run() })
		b.Logf("first launch (agent image %s built: %v): %.0f ms", image, built(stderr), ms(first))

		rebuilds, copiesUnchanged, copiesChanged := 0, 0, 0
		copied := func(stderr string) bool { return strings.Contains(stderr, "copying "+tree) }
		arms := []func(i int) (time.Duration, func()){
			func(i int) (time.Duration, func()) { // bottle apply, changed cwd
				// One small file more (untimed): the launch of a cwd
				// that changed since it was last copied.
				benchWrite(b, tree, "bench-change", fmt.Sprint(i))
				start := time.Now()
				_, id, stderr := bn.launch(dir, "copy")
				if copied(stderr) {
					copiesChanged++
				}
				// Until the agent runs: the detached apply then stays
				// to cache the cwd for the next launches.
				return bn.startedAt("bottle-"+id, time.Minute).Sub(start), func() { bn.stop(dir, id) }
			},
			func(i int) (time.Duration, func()) { // docker create + cp + start
				name := fmt.Sprintf("bottle-bench-cp-%d-%d", os.Getpid(), i)
				bn.later("container", name)
				start := time.Now()
				bn.docker("create", "--name", name, image, "sleep", "300")
				bn.docker("cp", tree+"/.", name+":/dst")
				bn.docker("start", name)
				return time.Since(start), func() { bn.rmContainer(name) }
			},
			func(int) (time.Duration, func()) { // bottle apply, unchanged cwd
				d, id, stderr := bn.launch(dir, "copy")
				if built(stderr) {
					rebuilds++
				}
				if copied(stderr) {
					copiesUnchanged++
				}
				return d, func() { bn.stop(dir, id) }
			},
			func(int) (time.Duration, func()) { // bottle apply, no cwd
				d, id, _ := bn.launch(dir, "nocwd")
				return d, func() { bn.stop(dir, id) }
			},
		}
		got := loopArms(b, arms)
		report(b, []string{"bottle-changed", "docker-create-cp-start", "bottle-unchanged", "bottle-nocwd"}, got)
		b.ReportMetric(float64(rebuilds), "rebuilds")
		b.ReportMetric(float64(copiesUnchanged), "copies-unchanged")
		b.ReportMetric(ratioOf(got[2], got[3]), "ratio-unchanged-vs-nocwd")
		b.ReportMetric(ratioOf(got[2], got[1]), "ratio-unchanged-vs-cp")
		b.Logf("an unchanged cwd: %d copies and %d rebuilds of the agent image in %d launches (changed: %d cached in %d)",
			copiesUnchanged, rebuilds, len(got[2]), copiesChanged, len(got[0]))
		b.Logf("unchanged over docker create+cp+start: %.3f; unchanged over no cwd: %.3f", ratioOf(got[2], got[1]), ratioOf(got[2], got[3]))
	})
}

// ratioOf is the ratio of two arms' medians.
func ratioOf(a, b samples) float64 { return float64(a.median()) / float64(b.median()) }

// with returns bn for a sub-benchmark.
func (bn *bench) with(b *testing.B) *bench {
	c := *bn
	c.b = b
	return &c
}

// lastFile returns the relative path of the last regular file of tree.
func lastFile(b *testing.B, tree string) string {
	b.Helper()
	var last string
	err := filepath.WalkDir(tree, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			last = p
		}
		return err
	})
	if err != nil || last == "" {
		b.Fatalf("walk %s: %v", tree, err)
	}
	rel, _ := filepath.Rel(tree, last)
	return filepath.ToSlash(rel)
}

// checkCopied checks (untimed) that the tree's file rel arrived whole
// under dst.
func (bn *bench) checkCopied(container, dst, tree, rel string) {
	bn.b.Helper()
	want, err := os.Stat(filepath.Join(tree, rel))
	if err != nil {
		bn.b.Fatal(err)
	}
	st, err := bn.cli.ContainerStatPath(bn.b.Context(), container, dst+"/"+rel)
	if err != nil || st.Size != want.Size() {
		bn.b.Fatalf("%s: %s/%s was not copied whole (%d bytes of %d): %v", container, dst, rel, st.Size, want.Size(), err)
	}
}

// agentImage is the agent image bottle plan --json says the bottle "copy"
// of dir uses.
func (bn *bench) agentImage(dir string) string {
	bn.b.Helper()
	_, out, _ := bn.bottle(dir, "plan", "--json", "copy")
	var doc struct {
		Bottles []struct {
			Image struct {
				Tag string `json:"tag"`
			} `json:"image"`
		} `json:"bottles"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil || len(doc.Bottles) != 1 || doc.Bottles[0].Image.Tag == "" {
		bn.b.Fatalf("plan --json: %v\n%s", err, out)
	}
	return doc.Bottles[0].Image.Tag
}

// nonces returns a source of values no earlier build has seen, for RUN
// lines that must not be cached.
func nonces() func() string {
	run := 0
	return func() string {
		run++
		return fmt.Sprintf("n%d-%d-%d", os.Getpid(), run, rand.Uint32())
	}
}

// built reports whether an apply's progress shows an image build.
func built(stderr string) bool { return strings.Contains(stderr, "Step 1/") }

const resumeHCL = `
variable "nonce" {
  default = "0"
}

agent "box" {
  image          = "busybox:latest"
  command        = ["sh", "-c", "/run/bottle/bottle-request --reason x --run 'echo ${var.nonce} $RANDOM > /etc/x' --wait; sleep 300"]
  resume_command = ["sleep", "300"]
}

bottle "resume" {
  agent   = agent.box
  backend = "docker"
}
`

// BenchmarkResume is issue 4's benchmark: from the per-bottle Dockerfile's
// appearance to the resumed agent running, against building the same
// Dockerfile with an empty context and running it by hand (docker build +
// docker run -d), target ≤ 1.1×. Each iteration makes a preserved state dir
// for real (apply --detach, the agent files a request, bottle approve), with
// a RUN line of its own so that no build is cached, on either arm; the
// by-hand arm builds the lines approve wrote, with its own nonce, FROM the
// agent's image (fromAgentImage).
//
//   - Watch: bottle watch runs; the bottle arm is from the Dockerfile's
//     mtime (approve writes it last) to the StartedAt the engine records
//     for bottle-<identity>; the by-hand arm is from before docker build to
//     the StartedAt of its container. The poll interval does not limit the
//     precision of either.
//   - Resume: no watch; bottle resume --detach of the preserved state dir
//     against docker build + docker run -d, both as wall time; a third arm
//     also runs the LABEL steps bottle's build runs, to show their cost
//     (none since approve makes a labelled base image).
func BenchmarkResume(b *testing.B) {
	bn := newBench(b)
	dir := b.TempDir()
	benchWrite(b, dir, "bottle.hcl", resumeHCL)
	nonce := nonces()

	// preserved launches a bottle and waits for its request; bottle
	// approve (by the caller) then preserves it.
	preserved := func(bn *bench, n string) string {
		_, id, _ := bn.launch(dir, "--var", "nonce="+n)
		queue := filepath.Join(bn.home, "state", id, "queue")
		bn.poll("the request of "+id, time.Minute, func() bool {
			names, _ := filepath.Glob(filepath.Join(queue, "req-*.json"))
			return len(names) > 0
		})
		return id
	}
	// template is a per-bottle Dockerfile approve wrote, and its nonce.
	var template, templateNonce string
	// labelSteps are the LABEL steps bottle's build of the per-bottle
	// Dockerfile ran beyond its lines (the labels bottle adds; each step is
	// an intermediate container of the legacy builder), keys renamed so
	// that nothing of bottle's ever takes the by-hand images for its own.
	var labelSteps []string
	// byHand builds template with the nonce n, from stdin (so with an empty
	// context), and runs it detached; withLabels, it also runs labelSteps.
	byHand := func(bn *bench, n string, withLabels bool) (name string) {
		tag := "bottle-bench-byhand:" + n
		name = "bottle-bench-byhand-" + n
		bn.later("image", tag)
		bn.later("container", name)
		content := fromAgentImage(strings.ReplaceAll(template, templateNonce, n))
		if withLabels {
			content = strings.TrimRight(content, "\n") + "\n" + strings.Join(labelSteps, "\n") + "\n"
		}
		args := []string{"build", "-q", "-t", tag, "-"}
		bn.run(append(os.Environ(), "DOCKER_BUILDKIT=0"), strings.NewReader(content), "docker", args...)
		bn.docker("run", "-d", "--name", name, tag, "sleep", "300")
		return name
	}
	cleanByHand := func(bn *bench, name string) {
		bn.rmContainer(name)
		bn.docker("image", "rm", strings.Replace(name, "bottle-bench-byhand-", "bottle-bench-byhand:", 1))
	}
	warm := func(bn *bench, watching bool) {
		n := nonce()
		id := preserved(bn, n)
		bn.bottle(dir, "approve", id)
		df, err := os.ReadFile(filepath.Join(bn.home, "state", id, "Dockerfile"))
		if err != nil {
			b.Fatal(err)
		}
		template, templateNonce = string(df), n
		if !watching {
			_, _, stderr := bn.bottle(dir, "resume", "--detach", id)
			labelSteps = buildLabelSteps(stderr)
		}
		bn.startedAt("bottle-"+id, 2*time.Minute)
		bn.stop(dir, id)
		cleanByHand(bn, byHand(bn, nonce(), true))
	}

	b.Run("Watch", func(b *testing.B) {
		bn := bn.with(b)
		bn.setHome(b.TempDir())
		ctx, cancel := context.WithCancel(context.Background())
		w := exec.CommandContext(ctx, bn.bin, "--chdir", dir, "watch")
		w.Env = bn.env
		var werr syncBuffer
		w.Stdout, w.Stderr = io.Discard, &werr
		w.Cancel = func() error { return w.Process.Signal(os.Interrupt) }
		w.WaitDelay = 30 * time.Second
		if err := w.Start(); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() {
			cancel()
			_ = w.Wait()
			if b.Failed() {
				b.Logf("bottle watch output:\n%s", werr.String())
			}
		})
		bn.poll("the watch to start", 30*time.Second, func() bool { return strings.Contains(werr.String(), "Watching") })

		warm(bn, true)
		var bottleArm, fromApprove, handArm samples
		for i := 0; b.Loop(); i++ {
			for _, k := range order(i, 2) {
				b.StopTimer()
				if k == 0 {
					id := preserved(bn, nonce())
					b.StartTimer()
					bn.bottle(dir, "approve", id)
					approved := time.Now()
					fi, err := os.Stat(filepath.Join(bn.home, "state", id, "Dockerfile"))
					if err != nil {
						b.Fatalf("approve %s wrote no Dockerfile: %v", id, err)
					}
					running := bn.startedAt("bottle-"+id, 2*time.Minute)
					bottleArm = append(bottleArm, running.Sub(fi.ModTime()))
					fromApprove = append(fromApprove, running.Sub(approved))
					b.StopTimer()
					bn.stop(dir, id)
				} else {
					b.StartTimer()
					start := time.Now()
					name := byHand(bn, nonce(), false)
					running := bn.startedAt(name, time.Minute)
					handArm = append(handArm, running.Sub(start))
					b.StopTimer()
					cleanByHand(bn, name)
				}
				b.StartTimer()
			}
		}
		report(b, []string{"bottle-watch", "docker-build-run"}, []samples{bottleArm, handArm})
		b.ReportMetric(ms(fromApprove.median()), "bottle-from-approve-ms")
		b.Logf("bottle, from bottle approve's return: median %.0f ms %s", ms(fromApprove.median()), fromApprove)
	})

	b.Run("Resume", func(b *testing.B) {
		bn := bn.with(b)
		bn.setHome(b.TempDir())
		warm(bn, false)
		got := make([]samples, 3)
		for i := 0; b.Loop(); i++ {
			for _, k := range order(i, 3) {
				b.StopTimer()
				if k == 0 {
					id := preserved(bn, nonce())
					bn.bottle(dir, "approve", id)
					b.StartTimer()
					d, _, _ := bn.bottle(dir, "resume", "--detach", id)
					got[k] = append(got[k], d)
					b.StopTimer()
					bn.stop(dir, id)
				} else {
					b.StartTimer()
					start := time.Now()
					name := byHand(bn, nonce(), k == 2)
					got[k] = append(got[k], time.Since(start))
					b.StopTimer()
					cleanByHand(bn, name)
				}
				b.StartTimer()
			}
		}
		report(b, []string{"bottle-resume", "docker-build-run", "docker-build-labels-run"}, got)
		b.ReportMetric(ms(got[2].median()-got[1].median()), "label-steps-ms")
		b.ReportMetric(float64(len(labelSteps)), "label-steps")
		b.Logf("bottle's build adds %d LABEL step(s): %q", len(labelSteps), labelSteps)
	})
}

// fromAgentImage is a per-bottle Dockerfile as a user would write it by
// hand: FROM the agent's image rather than the labelled base approve made
// of it (bottle/<identity>:base, the same image plus the identity's labels),
// which goes with its identity.
func fromAgentImage(dockerfile string) string {
	var b strings.Builder
	for line := range strings.Lines(dockerfile) {
		if strings.HasPrefix(line, "FROM ") {
			line = "FROM busybox:latest\n"
		}
		b.WriteString(line)
	}
	return b.String()
}

// buildLabelSteps returns the LABEL instructions of a bottle build's
// progress ("ID: Step 3/3 : LABEL …"), with dev.bottle. keys renamed to
// dev.bottle-bench.
func buildLabelSteps(progress string) []string {
	var out []string
	for line := range strings.Lines(progress) {
		_, step, ok := strings.Cut(line, ": Step ")
		if !ok {
			continue
		}
		_, instr, ok := strings.Cut(step, " : ")
		if ok && strings.HasPrefix(instr, "LABEL ") {
			out = append(out, strings.ReplaceAll(strings.TrimSpace(instr), "dev.bottle.", "dev.bottle-bench."))
		}
	}
	return out
}
