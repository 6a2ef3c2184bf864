package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8s "k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/bottle-dev/bottle/backend"
	"github.com/bottle-dev/bottle/backend/kubernetes"
)

// The benchmarks of issue 14 §3: bottle on the local cluster (scripts/kube-up)
// against kubectl doing the same job by hand, interleaved as the Docker
// benchmarks are (loopArms, medians, ratio of the first two arms). They run
// with BOTTLE_DOCKER_TESTS=1 and BOTTLE_KUBE_TESTS=1, in the namespace
// bottle-bench (made when missing), with kubectl from PATH:
//
//	eval "$(scripts/kube-up)"
//	BOTTLE_DOCKER_TESTS=1 BOTTLE_KUBE_TESTS=1 go test -run '^$' -bench 'Kube' -benchtime 5x -timeout 60m ./cmd/bottle

// benchNamespace holds every Pod these benchmarks make.
const benchNamespace = "bottle-bench"

// kubeBench is a bench on the local cluster.
type kubeBench struct {
	*bench
	kubectlBin string
	kubeconfig string
	registry   string
	image      string // busybox:latest in the registry
	cs         k8s.Interface
	kb         *kubernetes.Backend
}

func newKubeBench(b *testing.B) *kubeBench {
	b.Helper()
	if os.Getenv("BOTTLE_KUBE_TESTS") != "1" {
		b.Skip(`set BOTTLE_KUBE_TESTS=1 (after eval "$(scripts/kube-up)") to run the benchmarks on a real cluster`)
	}
	bn := newBench(b)
	kb := &kubeBench{bench: bn, kubeconfig: os.Getenv("KUBECONFIG"), registry: os.Getenv("BOTTLE_KUBE_REGISTRY")}
	if kb.kubeconfig == "" || kb.registry == "" {
		b.Fatal(`KUBECONFIG and BOTTLE_KUBE_REGISTRY must be set: eval "$(scripts/kube-up)"`)
	}
	var err error
	if kb.kubectlBin, err = exec.LookPath("kubectl"); err != nil {
		b.Fatalf("the baseline needs kubectl on PATH: %v", err)
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", kb.kubeconfig)
	if err != nil {
		b.Fatal(err)
	}
	if kb.cs, err = k8s.NewForConfig(cfg); err != nil {
		b.Fatal(err)
	}
	if kb.kb, err = kubernetes.New(kubernetes.Options{Kubeconfig: kb.kubeconfig, Namespace: benchNamespace, Registry: kb.registry, Images: bn.be}); err != nil {
		b.Fatal(err)
	}
	ctx := b.Context()
	if _, err := kb.cs.CoreV1().Namespaces().Get(ctx, benchNamespace, metav1.GetOptions{}); err != nil {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: benchNamespace}}
		if _, err := kb.cs.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
			b.Fatalf("create namespace %s: %v", benchNamespace, err)
		}
	}
	bn.poll("the default service account of "+benchNamespace, time.Minute, func() bool {
		_, err := kb.cs.CoreV1().ServiceAccounts(benchNamespace).Get(ctx, "default", metav1.GetOptions{})
		return err == nil
	})
	kb.image = kb.registry + "/bench-busybox:latest"
	if err := bn.be.PushImage(ctx, benchImage, kb.image); err != nil {
		b.Fatalf("push %s: %v", kb.image, err)
	}
	bn.env = append(bn.env, "BOTTLE_KUBE_NAMESPACE="+benchNamespace)
	// A failed benchmark's bottles: their Pods go with their state dirs.
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		entries, _ := os.ReadDir(filepath.Join(bn.home, "state"))
		for _, en := range entries {
			_ = kb.kb.Remove(ctx, backend.InstanceName(en.Name()))
		}
	})
	return kb
}

// kubectl runs kubectl on the bench namespace and returns its duration.
func (kb *kubeBench) kubectl(args ...string) time.Duration {
	kb.b.Helper()
	d, _, _ := kb.run(os.Environ(), nil, kb.kubectlBin, append([]string{"--kubeconfig", kb.kubeconfig, "-n", benchNamespace}, args...)...)
	return d
}

// kubectlRun is the by-hand launch: kubectl run of image, then kubectl
// wait until the Pod is Ready. The Pod goes at the end whatever happens.
func (kb *kubeBench) kubectlRun(name, image string) time.Duration {
	kb.b.Helper()
	kb.b.Cleanup(func() { kb.deletePod(name) })
	return kb.kubectl("run", name, "--image", image, "--restart=Never", "--", "sleep", "300") +
		kb.kubectl("wait", "--for=condition=Ready", "--timeout=2m", "pod/"+name)
}

// deletePod removes a baseline Pod at once (untimed; gone already is fine).
func (kb *kubeBench) deletePod(name string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	now := int64(0)
	_ = kb.cs.CoreV1().Pods(benchNamespace).Delete(ctx, name, metav1.DeleteOptions{GracePeriodSeconds: &now})
}

// apiRun creates the same Pod as kubectlRun through the API, in process,
// and watches it until Ready: the floor, without two CLI starts.
func (kb *kubeBench) apiRun(name, image string) time.Duration {
	kb.b.Helper()
	kb.b.Cleanup(func() { kb.deletePod(name) })
	ctx, cancel := context.WithTimeout(kb.b.Context(), 2*time.Minute)
	defer cancel()
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever, Containers: []corev1.Container{{
			Name: name, Image: image, Command: []string{"sleep", "300"},
		}}},
	}
	start := time.Now()
	if _, err := kb.cs.CoreV1().Pods(benchNamespace).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		kb.b.Fatalf("create pod %s: %v", name, err)
	}
	w, err := kb.cs.CoreV1().Pods(benchNamespace).Watch(ctx, metav1.ListOptions{FieldSelector: "metadata.name=" + name})
	if err != nil {
		kb.b.Fatal(err)
	}
	defer w.Stop()
	for ev := range w.ResultChan() {
		if p, ok := ev.Object.(*corev1.Pod); ok && podReady(p) {
			return time.Since(start)
		}
	}
	kb.b.Fatalf("pod %s: the watch ended before it was Ready: %v", name, ctx.Err())
	return 0
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}

// dropRegistryImages deletes the per-bottle images of id from the registry
// (untimed): nothing of the benchmark's should stay there.
func (kb *kubeBench) dropRegistryImages(id string) {
	kb.b.Helper()
	res, err := kb.kb.RemoteLeftovers(kb.b.Context())
	if err != nil {
		kb.b.Fatal(err)
	}
	for _, r := range res {
		if r.Identity == id {
			if err := kb.kb.RemoveResource(kb.b.Context(), r); err != nil {
				kb.b.Fatal(err)
			}
		}
	}
}

// deleteRemote deletes a by-hand image from the registry (untimed).
func (kb *kubeBench) deleteRemote(tag string) {
	kb.b.Helper()
	ref, err := name.NewTag(tag)
	if err != nil {
		kb.b.Fatal(err)
	}
	desc, err := remote.Head(ref, remote.WithContext(kb.b.Context()))
	if err != nil {
		kb.b.Fatalf("head %s: %v", tag, err)
	}
	if err := remote.Delete(ref.Context().Digest(desc.Digest.String()), remote.WithContext(kb.b.Context())); err != nil {
		kb.b.Fatalf("delete %s from the registry: %v", tag, err)
	}
}

// onCluster turns one of the Docker benchmarks' bottle.hcl into the same
// bottle on the cluster, from image (busybox pushed to the local registry).
func onCluster(hcl, image string) string {
	return strings.NewReplacer(`"busybox:latest"`, `"`+image+`"`, `backend = "docker"`, `backend = "kubernetes"`).Replace(hcl)
}

// BenchmarkKubeLaunch is issue 14's launch benchmark: bottle apply --detach
// of an image agent on the local cluster (it returns once the agent runs)
// against kubectl run of the same image and command, then kubectl wait
// until the Pod is Ready, target ≤ 1.2×. A third arm makes the same Pod
// through the API in process and watches it to Ready: the cluster's own
// cost, without kubectl's two process starts.
func BenchmarkKubeLaunch(b *testing.B) {
	kb := newKubeBench(b)
	dir := b.TempDir()
	benchWrite(b, dir, "bottle.hcl", onCluster(launchHCL, kb.image))
	pid := os.Getpid()
	// Where bottle's launch spends its time: until its Pod exists, the
	// Pod's start (to both containers running), and what follows.
	var toPod, podStart, afterRunning samples
	arms := []func(i int) (time.Duration, func()){
		func(int) (time.Duration, func()) { // bottle
			tl := kb.watchPods()
			start := time.Now()
			d, id, _ := kb.launch(dir)
			created, running := tl.stop(backend.InstanceName(id))
			toPod = append(toPod, created.Sub(start))
			podStart = append(podStart, running.Sub(created))
			afterRunning = append(afterRunning, start.Add(d).Sub(running))
			return d, func() { kb.stop(dir, id) }
		},
		func(i int) (time.Duration, func()) { // kubectl run + wait
			name := fmt.Sprintf("bench-kubectl-%d-%d", pid, i)
			return kb.kubectlRun(name, kb.image), func() { kb.deletePod(name) }
		},
		func(i int) (time.Duration, func()) { // the API, in process
			name := fmt.Sprintf("bench-api-%d-%d", pid, i)
			return kb.apiRun(name, kb.image), func() { kb.deletePod(name) }
		},
	}
	// Warm up: the node has the image, kubectl its discovery cache.
	for k, arm := range arms {
		_, teardown := arm(-1 - k)
		teardown()
	}
	toPod, podStart, afterRunning = nil, nil, nil
	got := loopArms(b, arms)
	report(b, []string{"bottle", "kubectl-run-wait", "api-create-ready"}, got)
	b.ReportMetric(ratioOf(got[0], got[2]), "ratio-vs-api")
	for _, ph := range []struct {
		name string
		s    samples
	}{{"bottle-to-pod", toPod}, {"bottle-pod-start", podStart}, {"bottle-after-running", afterRunning}} {
		b.ReportMetric(ms(ph.s.median()), ph.name+"-ms")
		b.Logf("%-22s median %7.0f ms  %s", ph.name, ms(ph.s.median()), ph.s)
	}
}

// podTimeline records when each Pod of the bench namespace is first seen
// and when all its containers run, from a watch started before the launch.
type podTimeline struct {
	b       *testing.B
	mu      sync.Mutex
	cancel  context.CancelFunc
	done    chan struct{}
	created map[string]time.Time
	running map[string]time.Time
}

func (kb *kubeBench) watchPods() *podTimeline {
	kb.b.Helper()
	ctx, cancel := context.WithTimeout(kb.b.Context(), 5*time.Minute)
	w, err := kb.cs.CoreV1().Pods(benchNamespace).Watch(ctx, metav1.ListOptions{})
	if err != nil {
		cancel()
		kb.b.Fatal(err)
	}
	tl := &podTimeline{b: kb.b, cancel: cancel, done: make(chan struct{}), created: map[string]time.Time{}, running: map[string]time.Time{}}
	go func() {
		defer close(tl.done)
		defer w.Stop()
		for ev := range w.ResultChan() {
			p, ok := ev.Object.(*corev1.Pod)
			if !ok {
				continue
			}
			now := time.Now()
			tl.mu.Lock()
			if _, seen := tl.created[p.Name]; !seen {
				tl.created[p.Name] = now
			}
			n := 0
			for _, c := range p.Status.ContainerStatuses {
				if c.State.Running != nil {
					n++
				}
			}
			if _, seen := tl.running[p.Name]; !seen && n > 0 && n == len(p.Spec.Containers) {
				tl.running[p.Name] = now
			}
			tl.mu.Unlock()
		}
	}()
	return tl
}

// stop ends the watch and returns when pod was first seen and running.
func (tl *podTimeline) stop(pod string) (created, running time.Time) {
	tl.b.Helper()
	// The watch may deliver the Pod's last change a moment after the
	// launch returned.
	deadline := time.Now().Add(5 * time.Second)
	for {
		tl.mu.Lock()
		created, running = tl.created[pod], tl.running[pod]
		tl.mu.Unlock()
		if !running.IsZero() || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	tl.cancel()
	<-tl.done
	if created.IsZero() || running.IsZero() {
		tl.b.Fatalf("the watch did not see %s created and running", pod)
	}
	return created, running
}
