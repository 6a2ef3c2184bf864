package main

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bottle-dev/bottle/backend"
	"github.com/bottle-dev/bottle/backend/docker"
	"github.com/bottle-dev/bottle/backend/kubernetes"
)

// The kubernetes end-to-end tests run when BOTTLE_KUBE_TESTS=1, on the
// cluster `eval "$(scripts/kube-up)"` describes (KUBECONFIG,
// BOTTLE_KUBE_NAMESPACE, BOTTLE_KUBE_REGISTRY), with the local Docker
// engine building and pushing the images.

// newKubeE2E is newE2E on the local cluster: bottles default to the
// kubernetes backend, and whatever a failed test leaves in the cluster is
// removed by identity.
func newKubeE2E(t *testing.T) (*e2e, *kubernetes.Backend) {
	t.Helper()
	if os.Getenv("BOTTLE_KUBE_TESTS") != "1" {
		t.Skip(`set BOTTLE_KUBE_TESTS=1 (after eval "$(scripts/kube-up)") to run on a real cluster`)
	}
	be, err := docker.New(t.Context())
	if err != nil {
		t.Fatalf("docker client: %v", err)
	}
	t.Cleanup(func() { be.Close() })
	kb, err := kubernetes.New(kubernetes.Options{
		Kubeconfig: os.Getenv("KUBECONFIG"),
		Namespace:  os.Getenv("BOTTLE_KUBE_NAMESPACE"),
		Registry:   os.Getenv("BOTTLE_KUBE_REGISTRY"),
		Images:     be,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := kb.Ping(t.Context()); err != nil {
		t.Fatalf("BOTTLE_KUBE_TESTS=1 but the cluster does not answer: %v", err)
	}
	e := &e2e{t: t, home: t.TempDir(), dir: t.TempDir(), be: be}
	e.env = append(os.Environ(), "BOTTLE_HOME="+e.home, "NO_COLOR=1", "BOTTLE_BACKEND=kubernetes")
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		for _, id := range e.stateDirs() {
			_ = kb.Remove(ctx, backend.InstanceName(id))
		}
	})
	return e, kb
}

// kubeLoopAgent files a capability request once the test drops /tmp/go
// into its Pod (so that the test times the mirror from a known moment),
// keeps a transcript, and on resume shows the transcript and the tool.
const kubeLoopAgent = `
agent "box" {
  image      = "%IMAGE%"
  transcript = "/home/agent/t"
  command = ["sh", "-c", <<-EOT
    mkdir -p /home/agent/t
    echo "first launch" >> /home/agent/t/log
    trap 'echo "halted for the approval" >> /home/agent/t/log; exit 143' TERM
    while [ ! -f /tmp/go ]; do sleep 0.05; done
    /run/bottle/bottle-request --reason "need newtool" --run "printf '#!/bin/sh\necho newtool works\n' > /usr/local/bin/newtool && chmod +x /usr/local/bin/newtool" --wait
    sleep 300
  EOT
  ]
  resume_command = ["sh", "-c", "echo resumed=$BOTTLE_RESUMED; cat /home/agent/t/log; newtool"]
}

bottle "kloop" {
  agent = agent.box
}
`

// TestKubernetesCapabilityLoop: apply --detach on the cluster, the agent
// files a request that a running watch reports (the detached Pod's queue is
// mirrored by polling; the test logs how long it took), approve (agent
// halted, snapshot through exec, Pod torn down, per-bottle Dockerfile), and
// the watch
// resumes it: built by the local engine, pushed to the local registry, a
// new Pod with the transcript restored, on the recorded namespace even
// though the watch's environment names none.
func TestKubernetesCapabilityLoop(t *testing.T) {
	e, kb := newKubeE2E(t)
	ref := os.Getenv("BOTTLE_KUBE_REGISTRY") + "/test-busybox:latest"
	if err := e.be.PushImage(t.Context(), "busybox:latest", ref); err != nil {
		t.Fatalf("push the test image: %v", err)
	}
	e.write("bottle.hcl", strings.ReplaceAll(kubeLoopAgent, "%IMAGE%", ref))

	// The watch is told nothing about the cluster but the kubeconfig: the
	// bottle's metadata names its backend, namespace and registry.
	watchEnv := e.env[:0:0]
	for _, kv := range e.env {
		if !strings.HasPrefix(kv, "BOTTLE_BACKEND=") && !strings.HasPrefix(kv, "BOTTLE_KUBE_") {
			watchEnv = append(watchEnv, kv)
		}
	}
	applyEnv := e.env
	e.env = watchEnv
	wout, werr := e.startWatch()
	e.env = applyEnv

	r := e.runFor(5*time.Minute, "apply", "--auto-approve", "--detach")
	if r.code != 0 {
		t.Fatalf("apply --detach: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	ids := identities(r.stderr)
	if len(ids) != 1 {
		t.Fatalf("apply --detach launched %v\n%s", ids, r.stderr)
	}
	id := ids[0]
	t.Cleanup(func() { removeRegistryImages(t, kb, id) })
	md, err := os.ReadFile(filepath.Join(e.home, "state", id, "metadata.json"))
	if err != nil {
		t.Fatal(err)
	}
	var meta struct {
		Backend string `json:"backend"`
	}
	if err := json.Unmarshal(md, &meta); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(meta.Backend, "kubernetes?") || !strings.Contains(meta.Backend, "namespace="+kb.Namespace()) {
		t.Fatalf("metadata backend %q; want kubernetes with namespace %s", meta.Backend, kb.Namespace())
	}

	// Let the agent file its request, and time the watch's report.
	start := time.Now()
	if err := kb.CopyIn(t.Context(), backend.InstanceName(id), "/tmp", tarOfFile(t, "go", ""), nil); err != nil {
		t.Fatalf("release the agent's request: %v", err)
	}
	e.waitFor("the watch to report the request of the detached bottle", 30*time.Second, func() bool {
		return strings.Contains(werr.String(), "bottle approve "+id)
	})
	t.Logf("a request filed in the detached Pod was reported by the watch after %v", time.Since(start).Round(10*time.Millisecond))

	e.mustRun("approve", id, e.waitRequest(id).ID)
	e.waitFor("the resumed agent to finish", 5*time.Minute, func() bool {
		return strings.Contains(wout.String(), id+" | newtool works")
	})
	// The approval halted the agent before its snapshot: the snapshot
	// holds what the agent wrote as it stopped.
	contains(t, "watch output", wout.String(), id+" | resumed=1", id+" | first launch", id+" | halted for the approval")
	// The watch built the per-bottle image and the Pod pulled it from the
	// registry.
	contains(t, "watch stderr", werr.String(), id+": Step ")
	e.waitGone(id)
	if pods, err := kb.List(t.Context(), map[string]string{backend.LabelIdentity: id}); err != nil || len(pods) != 0 {
		t.Errorf("pods left for %s: %v, %v", id, pods, err)
	}
}

// tarOfFile is a tar stream of one file.
func tarOfFile(t *testing.T, name, body string) *bytes.Buffer {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(body))}); err != nil {
		t.Fatal(err)
	}
	if _, err := tw.Write([]byte(body)); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return &buf
}

// removeRegistryImages deletes the per-bottle images the test's bottle
// pushed to the registry (and only those).
func removeRegistryImages(t *testing.T, kb *kubernetes.Backend, id string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	left, err := kb.RemoteLeftovers(ctx)
	if err != nil {
		t.Errorf("list the registry's images: %v", err)
		return
	}
	n := 0
	for _, r := range left {
		if r.Identity == id {
			if err := kb.RemoveResource(ctx, r); err != nil {
				t.Errorf("remove %s: %v", r.Name, err)
			}
			n++
		}
	}
	t.Logf("removed %d registry images of %s (of %d listed)", n, id, len(left))
}
