package main

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/bottle-dev/bottle/backend"
)

// staleProxyImage builds an image labelled like an egress proxy image of
// another bottle binary, tagged tag, and removes it when the test ends.
func (e *e2e) staleProxyImage(tag string) {
	e.t.Helper()
	df := "FROM scratch\nLABEL " + backend.LabelProxy + `="image" ` + backend.LabelManaged + `="true" e2e.stale="` + tag + `"` + "\n"
	cmd := exec.CommandContext(e.t.Context(), "docker", "build", "-q", "-t", tag, "-")
	cmd.Stdin = strings.NewReader(df)
	if out, err := cmd.CombinedOutput(); err != nil {
		e.t.Fatalf("docker build %s: %v\n%s", tag, err, out)
	}
	e.t.Cleanup(func() { _ = exec.Command("docker", "rmi", "-f", tag).Run() })
}

func imageExists(t *testing.T, ref string) bool {
	t.Helper()
	return exec.CommandContext(t.Context(), "docker", "image", "inspect", ref).Run() == nil
}

// TestGCProxyImages: an egress proxy image is kept while a container uses
// it, and so is the one of the running bottle binary; one nothing uses is
// listed by gc --dry-run and removed by gc.
func TestGCProxyImages(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	id := e.launchProbe("example.com")
	current, err := e.be.CurrentProxyImage(t.Context())
	if err != nil || current == "" {
		t.Fatalf("current proxy image %q: %v", current, err)
	}
	suffix := strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-")) + "-" + id
	unused, used := "bottle-egress-proxy:unused-"+suffix, "bottle-egress-proxy:used-"+suffix
	e.staleProxyImage(unused)
	e.staleProxyImage(used)
	holder := "e2e-proxy-holder-" + id
	if out, err := exec.CommandContext(t.Context(), "docker", "create", "--name", holder, "--label", "e2e.holder=true", used, "/none").CombinedOutput(); err != nil {
		t.Fatalf("docker create: %v\n%s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("docker", "rm", "-f", holder).Run() })

	dry := e.mustRun("gc", "--dry-run").stdout
	contains(t, "gc --dry-run", dry, "would remove docker image "+unused+" (an egress proxy image no bottle uses)")
	for _, kept := range []string{used, current} {
		if strings.Contains(dry, kept) {
			t.Errorf("gc --dry-run lists %s:\n%s", kept, dry)
		}
	}
	if !imageExists(t, unused) {
		t.Fatal("gc --dry-run removed an image")
	}
	e.mustRun("gc")
	if imageExists(t, unused) {
		t.Error("gc kept a proxy image nothing uses")
	}
	if !imageExists(t, used) {
		t.Error("gc removed a proxy image a container uses")
	}
	e.mustRun("stop", id)
	e.mustRun("gc")
	if !imageExists(t, current) {
		t.Errorf("gc removed %s, the proxy image of the running bottle binary", current)
	}
}
