package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"

	"github.com/bottle-dev/bottle/backend"
)

// recorder is a local upstream that records the Authorization headers
// it got.
type recorder struct {
	url  string
	mu   sync.Mutex
	seen []string
}

func (r *recorder) auths() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.seen, "\n")
}

// bridgeIP is the host's address on the default Docker bridge: what a
// container reaches the host's test servers through.
func bridgeIP(t *testing.T) string {
	t.Helper()
	ifc, err := net.InterfaceByName("docker0")
	if err != nil {
		t.Fatalf("docker0: %v", err)
	}
	addrs, err := ifc.Addrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil {
			return n.IP.String()
		}
	}
	t.Fatal("docker0 has no IPv4 address")
	return ""
}

// upstreamOn starts an HTTP server on ip that answers "upstream NAME".
func upstreamOn(t *testing.T, ip, name string) *recorder {
	t.Helper()
	ln, err := net.Listen("tcp", ip+":0")
	if err != nil {
		t.Fatal(err)
	}
	r := &recorder{url: "http://" + ln.Addr().String()}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		r.seen = append(r.seen, req.Header.Get("Authorization"))
		r.mu.Unlock()
		fmt.Fprintf(w, "upstream %s", name)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { _ = srv.Close() })
	return r
}

// probeAgent writes agent/Dockerfile with the static probe program as the
// agent, and removes the image bottle builds from it when the test ends.
func (e *e2e) probeAgent() {
	e.t.Helper()
	dir := filepath.Join(e.dir, "agent")
	build := exec.CommandContext(e.t.Context(), "go", "build", "-o", filepath.Join(dir, "probe"), "../../backend/docker/testdata/probe")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		e.t.Fatalf("go build probe: %v\n%s", err, out)
	}
	e.write("agent/Dockerfile", "FROM busybox:latest\nCOPY probe /probe\n")
}

// launchProbe launches, detached, a bottle whose agent is the probe with
// one egress entry, and returns its identity.
func (e *e2e) launchProbe(allow string) string {
	e.t.Helper()
	e.probeAgent()
	e.write("bottle.hcl", fmt.Sprintf(`
agent "probe" {
  dockerfile = "agent/Dockerfile"
  command    = ["/probe", "sleep"]
  egress { allow = [%q] }
}
bottle "b" { agent = agent.probe }
`, allow))
	e.removeBuiltImages()
	return identities(e.mustRun("apply", "--auto-approve", "--detach").stderr)[0]
}

// removeBuiltImages removes the agent image a plan says is built, and the
// egress proxy image of this test binary.
func (e *e2e) removeBuiltImages() {
	e.t.Helper()
	var plan struct {
		Bottles []struct {
			Image struct{ Tag string } `json:"image"`
		} `json:"bottles"`
	}
	_ = json.Unmarshal([]byte(e.mustRun("plan", "--json").stdout), &plan)
	proxyImage, _ := e.be.CurrentProxyImage(e.t.Context())
	e.t.Cleanup(func() {
		c, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
		if err != nil {
			return
		}
		defer c.Close()
		// t.Context is done by the time cleanups run.
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		for _, b := range plan.Bottles {
			_, _ = c.ImageRemove(ctx, b.Image.Tag, image.RemoveOptions{PruneChildren: true})
		}
		if proxyImage != "" {
			_, _ = c.ImageRemove(ctx, proxyImage, image.RemoveOptions{PruneChildren: true})
		}
	})
}

// in runs the probe inside the running bottle of id.
func (e *e2e) in(id string, argv ...string) string {
	e.t.Helper()
	var out bytes.Buffer
	_, err := e.be.Exec(e.t.Context(), backend.InstanceName(id), backend.ExecSpec{Argv: append([]string{"/probe"}, argv...), Stdout: &out, Stderr: &out})
	if err != nil {
		e.t.Fatalf("exec %v in %s: %v", argv, id, err)
	}
	return strings.TrimSpace(out.String())
}

// inspectAll returns the docker inspect JSON of every container labelled
// with identity (the bottle and its proxy).
func inspectAll(t *testing.T, identity string) string {
	t.Helper()
	c, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cs, err := c.ContainerList(t.Context(), container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", backend.LabelIdentity+"="+identity))})
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 2 {
		t.Errorf("%d containers labelled %s, want the bottle and its proxy", len(cs), identity)
	}
	var all bytes.Buffer
	for _, ct := range cs {
		info, err := c.ContainerInspect(t.Context(), ct.ID)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(info)
		all.Write(b)
		rc, err := c.ContainerLogs(t.Context(), ct.ID, container.LogsOptions{ShowStdout: true, ShowStderr: true})
		if err == nil {
			logs, _ := io.ReadAll(rc)
			rc.Close()
			all.Write(logs)
		}
	}
	return all.String()
}

const egressHCL = `
agent "probe" {
  dockerfile = "agent/Dockerfile"
  command    = ["/probe", "sleep"]
  egress { allow = ["%s"] }
  secret "API_KEY" {
    value = env("E2E_API_KEY")
    hosts = ["http://api.test:%s"]
  }
}

bottle "b" {
  agent = agent.probe
}
`

// TestEgressPolicyOnDocker: an egress bottle reaches its allowed host
// through its proxy, gets a 403 from a denied one, has no direct route to
// either; the real secret reaches its host and nothing else, and is in no
// inspect, log or state file; a killed proxy leaves the bottle without a
// way out; stop takes the proxy away.
func TestEgressPolicyOnDocker(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	ip := bridgeIP(t)
	allowed, denied, api := upstreamOn(t, ip, "allowed"), upstreamOn(t, ip, "denied"), upstreamOn(t, ip, "api")
	_, apiPort, _ := net.SplitHostPort(strings.TrimPrefix(api.url, "http://"))
	const key = "sk-e2e-REAL-value-7f3a"
	e.env = append(e.env, "E2E_API_KEY="+key, "BOTTLE_EGRESS_HOSTS=api.test:"+ip)
	e.probeAgent()
	e.write("bottle.hcl", fmt.Sprintf(egressHCL, strings.TrimPrefix(allowed.url, "http://"), apiPort))
	e.removeBuiltImages()

	r := e.mustRun("apply", "--auto-approve", "--detach")
	ids := identities(r.stderr)
	if len(ids) != 1 {
		t.Fatalf("identities %v\n%s", ids, r.stderr)
	}
	id := ids[0]

	if got := e.in(id, "get", allowed.url+"/"); got != "status 200: upstream allowed" {
		t.Errorf("allowed host through the proxy: %s", got)
	}
	if got := e.in(id, "get", denied.url+"/"); !strings.HasPrefix(got, "status 403: bottle egress:") || !strings.Contains(got, "not in this bottle's egress allowlist") {
		t.Errorf("denied host: %s", got)
	}
	for _, u := range []string{allowed.url, denied.url} {
		if got := e.in(id, "direct", u+"/"); !strings.HasPrefix(got, "error:") {
			t.Errorf("direct connection to %s: %s", u, got)
		}
	}
	if got := e.in(id, "get", "http://api.test:"+apiPort+"/v1/messages", "API_KEY"); got != "status 200: upstream api" {
		t.Errorf("secret host: %s", got)
	}
	if got := e.in(id, "get", allowed.url+"/leak", "API_KEY"); !strings.HasPrefix(got, "status 403") || !strings.Contains(got, "placeholder of secret API_KEY") {
		t.Errorf("placeholder to another host: %s", got)
	}
	if got := api.auths(); got != "Bearer "+key {
		t.Errorf("the API got %q, want the real key once", got)
	}
	if strings.Contains(allowed.auths(), key) || strings.Contains(allowed.auths(), "bottle-secret-") || denied.auths() != "" {
		t.Errorf("other hosts saw %q / %q", allowed.auths(), denied.auths())
	}
	if got := e.in(id, "env"); strings.Contains(got, key) {
		t.Error("the real key is in the bottle's environment")
	}
	if strings.Contains(inspectAll(t, id), key) {
		t.Error("the real key is in a docker inspect or log of the identity's containers")
	}
	_ = filepath.WalkDir(filepath.Join(e.home, "state", id), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if data, _ := os.ReadFile(p); bytes.Contains(data, []byte(key)) {
				t.Errorf("the real key is in %s", p)
			}
		}
		return nil
	})

	logs := e.mustRun("logs", "--egress", id).stdout
	_, deniedPort, _ := net.SplitHostPort(strings.TrimPrefix(denied.url, "http://"))
	contains(t, "logs --egress", logs, "denied   "+ip+":"+deniedPort+"  "+ip+":"+deniedPort+" is not in this bottle's egress allowlist")
	contains(t, "logs --egress", logs, "placeholder of secret API_KEY")
	if strings.Contains(logs, key) {
		t.Error("the real key is in the egress log")
	}

	// Fail closed: without its proxy the bottle has no way out at all.
	if err := exec.CommandContext(t.Context(), "docker", "kill", backend.ProxyName(id)).Run(); err != nil {
		t.Fatalf("kill the proxy: %v", err)
	}
	if got := e.in(id, "get", allowed.url+"/"); !strings.HasPrefix(got, "error:") {
		t.Errorf("with its proxy killed the bottle still got out: %s", got)
	}
	e.mustRun("stop", id)
	if left := e.leftovers(id); len(left) != 0 {
		t.Errorf("after stop %s still has %v", id, left)
	}
}

// TestGCCollectsOrphanedProxy: a proxy whose bottle and state are gone
// (a crash between teardown steps) is a leftover gc removes, with its
// networks.
func TestGCCollectsOrphanedProxy(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	id := e.launchProbe("example.com")
	if err := exec.CommandContext(t.Context(), "docker", "rm", "-f", backend.InstanceName(id)).Run(); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(e.home, "state", id)); err != nil {
		t.Fatal(err)
	}
	left := strings.Join(e.leftovers(id), ", ")
	if !strings.Contains(left, "container "+backend.ProxyName(id)) {
		t.Fatalf("leftovers %s: the proxy is not among them", left)
	}
	r := e.mustRun("gc")
	contains(t, "gc", r.stdout, backend.ProxyName(id))
	if left := e.leftovers(id); len(left) != 0 {
		t.Errorf("after gc %s still has %v", id, left)
	}
}

// containerID is the ID of the running bottle of identity.
func (e *e2e) containerID(id string) string {
	e.t.Helper()
	inst, err := e.be.Inspect(e.t.Context(), backend.InstanceName(id))
	if err != nil {
		e.t.Fatal(err)
	}
	return inst.ID
}

// TestEgressGrantLive: an egress request approved while the bottle runs
// makes the denied host reachable in the same container, and a later
// resume of the identity keeps the grant.
func TestEgressGrantLive(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	ip := bridgeIP(t)
	allowed, later := upstreamOn(t, ip, "allowed"), upstreamOn(t, ip, "later")
	hostPort := strings.TrimPrefix(later.url, "http://")
	id := e.launchProbe(strings.TrimPrefix(allowed.url, "http://"))
	before := e.containerID(id)
	if got := e.in(id, "get", later.url+"/"); !strings.HasPrefix(got, "status 403") {
		t.Fatalf("before the grant: %s", got)
	}

	var out bytes.Buffer
	code, err := e.be.Exec(t.Context(), backend.InstanceName(id), backend.ExecSpec{
		Argv:   []string{"sh", "/run/bottle/bottle-request", "--reason", "need the later host", "--egress", hostPort},
		Stdout: &out, Stderr: &out,
	})
	if err != nil || code != 0 {
		t.Fatalf("bottle-request --egress: %d %v %s", code, err, out.String())
	}
	reqs := e.mustRun("requests").stdout
	contains(t, "requests", reqs, "(egress)", "lets the running bottle reach (egress, in place):\n    "+hostPort)
	ap := e.mustRun("approve", id).stdout
	contains(t, "approve", ap, "its proxy allows "+hostPort+" now; the bottle keeps running")
	if got := e.in(id, "get", later.url+"/"); got != "status 200: upstream later" {
		t.Errorf("after the grant: %s", got)
	}
	if after := e.containerID(id); after != before {
		t.Errorf("the bottle was replaced (%s -> %s); a grant works in place", before, after)
	}
	grants, err := os.ReadFile(filepath.Join(e.home, "state", id, "egress-grants.json"))
	if err != nil || string(grants) != fmt.Sprintf("[%q]", hostPort) {
		t.Errorf("recorded grants %q, %v", grants, err)
	}

	// A capability approval tears the bottle down and keeps its state; the
	// resumed bottle still reaches the granted host.
	out.Reset()
	code, err = e.be.Exec(t.Context(), backend.InstanceName(id), backend.ExecSpec{
		Argv:   []string{"sh", "/run/bottle/bottle-request", "--reason", "a marker", "--run", "touch /marker"},
		Stdout: &out, Stderr: &out,
	})
	if err != nil || code != 0 {
		t.Fatalf("bottle-request --run: %d %v %s", code, err, out.String())
	}
	e.mustRun("approve", id)
	e.mustRun("resume", "--detach", id)
	if got := e.in(id, "get", later.url+"/"); got != "status 200: upstream later" {
		t.Errorf("after resume: %s", got)
	}
	if got := e.in(id, "get", allowed.url+"/"); got != "status 200: upstream allowed" {
		t.Errorf("after resume, the configured host: %s", got)
	}
	e.mustRun("stop", id)
	if left := e.leftovers(id); len(left) != 0 {
		t.Errorf("after stop %s still has %v", id, left)
	}
}
