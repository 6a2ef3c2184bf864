package kubernetes

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/bottle-dev/bottle/backend"
)

func TestPodFor(t *testing.T) {
	spec := backend.Spec{
		Identity: "fix-ab12c", Bottle: "fix", Agent: "claude", Image: "img",
		Command: []string{"claude", "-p", "x"}, Env: []string{"A=1", "BOTTLE_IDENTITY=fix-ab12c"},
		Workdir: "/workspace", User: "1000:1001", CPUs: 1.5, MemoryBytes: 1 << 30,
		Mounts: []backend.Mount{{Source: "/h/helper", Target: "/run/bottle", ReadOnly: true}, {Source: "/h/q", Target: "/run/bottle/queue"}},
		TTY:    true,
		Labels: map[string]string{backend.LabelHome: "h/with/slashes", backend.LabelIdentity: "forged"},
	}
	p, err := podFor(spec, "reg/img")
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "bottle-fix-ab12c" || p.Spec.RestartPolicy != corev1.RestartPolicyNever ||
		*p.Spec.AutomountServiceAccountToken || *p.Spec.EnableServiceLinks {
		t.Errorf("pod meta/spec: %+v", p)
	}
	if p.Labels[backend.LabelIdentity] != "fix-ab12c" || p.Labels[backend.LabelManaged] != "true" {
		t.Errorf("labels %v: the fixed labels win over spec.Labels", p.Labels)
	}
	if _, ok := p.Labels[backend.LabelHome]; ok {
		t.Errorf("label value %q is not a valid Kubernetes label value but was set", spec.Labels[backend.LabelHome])
	}
	if got := labelsOf(p.ObjectMeta); got[backend.LabelHome] != "h/with/slashes" {
		t.Errorf("labelsOf = %v: the annotation keeps every label", got)
	}
	a := p.Spec.Containers[0]
	if a.Image != "reg/img" || a.WorkingDir != "/workspace" || !a.TTY || !a.Stdin || !a.StdinOnce {
		t.Errorf("agent container %+v", a)
	}
	if got := a.Command[len(a.Command)-3:]; strings.Join(got, " ") != "claude -p x" {
		t.Errorf("agent argv tail %q", got)
	}
	if *a.SecurityContext.RunAsUser != 1000 || *a.SecurityContext.RunAsGroup != 1001 {
		t.Errorf("security context %+v", a.SecurityContext)
	}
	if a.Resources.Limits.Cpu().MilliValue() != 1500 || a.Resources.Limits.Memory().Value() != 1<<30 {
		t.Errorf("resources %+v", a.Resources)
	}
	var ro, rw bool
	for _, m := range a.VolumeMounts {
		ro = ro || (m.MountPath == "/run/bottle" && m.ReadOnly)
		// The queue is a folder of /run/bottle's volume, so that its mount
		// point exists inside the read-only mount (the kubelet makes it).
		rw = rw || (m.MountPath == "/run/bottle/queue" && !m.ReadOnly && m.Name == "mount-0" && m.SubPath == "queue")
	}
	if len(p.Spec.Volumes) != 2 {
		t.Errorf("volumes %+v: want the gate's and /run/bottle's only", p.Spec.Volumes)
	}
	if !ro || !rw {
		t.Errorf("agent mounts %+v: want /run/bottle read-only, its queue read-write", a.VolumeMounts)
	}
	if got := mountsOf(p); len(got) != 2 || got[1].Source != "/h/q" {
		t.Errorf("mountsOf = %+v", got)
	}
	if len(a.Env) != 2 || a.Env[1].Name != "BOTTLE_IDENTITY" || a.Env[1].Value != "fix-ab12c" {
		t.Errorf("env %+v", a.Env)
	}
}

func TestSecurityContextNeedsNumbers(t *testing.T) {
	for _, u := range []string{"agent", "1000:staff", "-1"} {
		if _, err := securityContext(u); err == nil || !strings.Contains(err.Error(), "numeric") {
			t.Errorf("securityContext(%q) = %v, want an error asking for numbers", u, err)
		}
	}
	if sc, err := securityContext(""); sc != nil || err != nil {
		t.Errorf("no user: %v, %v", sc, err)
	}
}

func TestPolicyFor(t *testing.T) {
	p := policyFor(backend.Spec{Identity: "a-12345", Network: false})
	if len(p.Spec.PolicyTypes) != 2 || len(p.Spec.Egress) != 0 {
		t.Errorf("no network: policy types %v egress %v, want ingress+egress with no egress rule", p.Spec.PolicyTypes, p.Spec.Egress)
	}
	if p.Spec.PodSelector.MatchLabels[backend.LabelIdentity] != "a-12345" {
		t.Errorf("selector %+v", p.Spec.PodSelector)
	}
	from := p.Spec.Ingress[0].From[0].PodSelector.MatchExpressions[0]
	if from.Key != backend.LabelManaged || from.Operator != "DoesNotExist" {
		t.Errorf("ingress from %+v: want every Pod but bottles", from)
	}
	if open := policyFor(backend.Spec{Identity: "a-12345", Network: true}); len(open.Spec.PolicyTypes) != 1 {
		t.Errorf("network: policy types %v, want ingress only", open.Spec.PolicyTypes)
	}
}

func TestStateOf(t *testing.T) {
	term := func(name string, code int32) corev1.ContainerStatus {
		return corev1.ContainerStatus{Name: name, State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: code}}}
	}
	running := corev1.ContainerStatus{Name: agentContainer, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}
	p := &corev1.Pod{}
	if st, _ := stateOf(p); st != backend.StateCreated {
		t.Errorf("fresh pod: %s", st)
	}
	p.Annotations = map[string]string{annoStarted: "true"}
	p.Status.ContainerStatuses = []corev1.ContainerStatus{running}
	if st, _ := stateOf(p); st != backend.StateRunning {
		t.Errorf("started: %s", st)
	}
	p.Status.ContainerStatuses = append(p.Status.ContainerStatuses, term(statusContainer, 7))
	if st, code := stateOf(p); st != backend.StateExited || code != 7 {
		t.Errorf("status container ended 7: %s %d", st, code)
	}
}

// tarBytes builds a tar stream of headers with bodies.
func tarBytes(t testing.TB, entries ...tar.Header) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range entries {
		body := strings.Repeat("x", int(h.Size))
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestExtractIntoConfines(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "q")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	// A symlink planted in the target must not lead a write outside.
	if err := os.Symlink(parent, filepath.Join(dir, "out")); err != nil {
		t.Fatal(err)
	}
	data := tarBytes(t,
		tar.Header{Name: "./", Typeflag: tar.TypeDir, Mode: 0o755},
		tar.Header{Name: "./req.json", Typeflag: tar.TypeReg, Mode: 0o4755, Size: 3},
		tar.Header{Name: "../escape", Typeflag: tar.TypeReg, Mode: 0o644, Size: 1},
		tar.Header{Name: "out/through-link", Typeflag: tar.TypeReg, Mode: 0o644, Size: 1},
		tar.Header{Name: "link", Typeflag: tar.TypeSymlink, Linkname: "/etc/passwd"},
		tar.Header{Name: "sub/deep.json", Typeflag: tar.TypeReg, Mode: 0o600, Size: 2},
	)
	err := extractInto(dir, bytes.NewReader(data), defaultLimits)
	if err == nil || !strings.Contains(err.Error(), "through-link") {
		t.Errorf("extract through a symlink: err %v, want a refusal naming the entry", err)
	}
	if _, err := os.Stat(filepath.Join(parent, "through-link")); err == nil {
		t.Error("a write went through the symlink out of the directory")
	}
	if _, err := os.Stat(filepath.Join(parent, "escape")); err != nil {
		// "../escape" is cleaned to "escape" inside dir.
		if _, err := os.Stat(filepath.Join(dir, "escape")); err != nil {
			t.Errorf("../escape: not written inside dir either: %v", err)
		}
	} else {
		t.Error("../escape was written outside the directory")
	}
	fi, err := os.Stat(filepath.Join(dir, "req.json"))
	if err != nil || fi.Mode().Perm() != 0o755 || fi.Mode()&os.ModeSetuid != 0 {
		t.Errorf("req.json: %v %v; want 0755 without setuid", fi, err)
	}
	if _, err := os.Lstat(filepath.Join(dir, "link")); err == nil {
		t.Error("a symlink from the bottle was created on the host")
	}
}

func TestExtractIntoLimits(t *testing.T) {
	dir := t.TempDir()
	big := tarBytes(t, tar.Header{Name: "big", Typeflag: tar.TypeReg, Mode: 0o644, Size: 100})
	if err := extractInto(dir, bytes.NewReader(big), limits{files: 10, bytes: 1000, file: 50}); err == nil {
		t.Error("a file over the per-file limit was accepted")
	}
	many := tarBytes(t, tar.Header{Name: "a", Typeflag: tar.TypeReg, Size: 1}, tar.Header{Name: "b", Typeflag: tar.TypeReg, Size: 1})
	if err := extractInto(dir, bytes.NewReader(many), limits{files: 1, bytes: 1000, file: 50}); err == nil {
		t.Error("more entries than the limit were accepted")
	}
}

func FuzzExtractInto(f *testing.F) {
	f.Add(tarBytes(f, tar.Header{Name: "a/b.json", Typeflag: tar.TypeReg, Mode: 0o644, Size: 2}))
	f.Add(tarBytes(f, tar.Header{Name: "../../x", Typeflag: tar.TypeReg, Size: 1}, tar.Header{Name: "d/", Typeflag: tar.TypeDir, Mode: 0o700}))
	f.Add([]byte("not a tar"))
	f.Fuzz(func(t *testing.T, data []byte) {
		parent := t.TempDir()
		dir := filepath.Join(parent, "in")
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		_ = extractInto(dir, bytes.NewReader(data), limits{files: 50, bytes: 1 << 20, file: 1 << 16})
		entries, err := os.ReadDir(parent)
		if err != nil || len(entries) != 1 {
			t.Fatalf("something was written beside the target: %v %v", entries, err)
		}
	})
}

func TestLocatorRoundTrip(t *testing.T) {
	if got := Locator(Options{}); got != backend.Kubernetes {
		t.Errorf("empty Locator = %q", got)
	}
	in := Options{Context: "prod", Namespace: "agents", Registry: "127.0.0.1:5000/team"}
	name := Locator(in)
	out, ok, err := ParseLocator(name)
	if !ok || err != nil || out.Context != in.Context || out.Namespace != in.Namespace || out.Registry != in.Registry {
		t.Errorf("ParseLocator(%q) = %+v, %v, %v", name, out, ok, err)
	}
	for _, other := range []string{"docker", "smolmachines", "", "kubernetesx"} {
		if _, ok, _ := ParseLocator(other); ok {
			t.Errorf("ParseLocator(%q) claims the kubernetes backend", other)
		}
	}
	if _, ok, err := ParseLocator("kubernetes?%zz"); !ok || err == nil {
		t.Errorf("a bad query: ok %v err %v, want an error", ok, err)
	}
}

// A terminal attach must not report the end of its input until the attach
// ends: containerd detaches the output of a terminal whose stdin closes.
func TestFirstReadHoldsTerminalInput(t *testing.T) {
	hold := make(chan struct{})
	f := &firstRead{r: strings.NewReader("ab"), ready: make(chan struct{}), hold: hold}
	buf := make([]byte, 8)
	if n, err := f.Read(buf); n != 2 || err != nil {
		t.Fatalf("first Read = %d, %v; want 2, nil", n, err)
	}
	select {
	case <-f.ready:
	default:
		t.Fatal("ready not closed by the first Read")
	}
	got := make(chan error, 1)
	go func() {
		_, err := f.Read(buf)
		got <- err
	}()
	select {
	case err := <-got:
		t.Fatalf("Read after the input's end returned %v before the hold was released", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(hold)
	if err := <-got; err != io.EOF {
		t.Fatalf("Read after release = %v; want io.EOF", err)
	}
	// Without a hold (no terminal) the end is reported at once.
	g := &firstRead{ready: make(chan struct{})}
	if _, err := g.Read(buf); err != io.EOF {
		t.Fatalf("nil input without hold: %v; want io.EOF", err)
	}
}
