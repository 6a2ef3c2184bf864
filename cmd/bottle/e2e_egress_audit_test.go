package main

import (
	"bytes"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bottle-dev/bottle/backend"
)

// TestEgressAuditOnEveryTeardown: what the proxy of a detached bottle
// denied and allowed reaches audit.jsonl whoever tears it down: an
// approval's teardown (the preserved state keeps it), and bottle destroy
// (the audit log is kept after the state dir goes, and logs --egress
// still shows it).
func TestEgressAuditOnEveryTeardown(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	ip := bridgeIP(t)
	allowed, denied := upstreamOn(t, ip, "allowed"), upstreamOn(t, ip, "denied")
	id := e.launchProbe(strings.TrimPrefix(allowed.url, "http://"))
	_, deniedPort, _ := net.SplitHostPort(strings.TrimPrefix(denied.url, "http://"))
	deniedDest := ip + ":" + deniedPort

	if got := e.in(id, "get", allowed.url+"/"); got != "status 200: upstream allowed" {
		t.Fatalf("allowed host: %s", got)
	}
	if got := e.in(id, "get", denied.url+"/first"); !strings.HasPrefix(got, "status 403") {
		t.Fatalf("denied host: %s", got)
	}
	// A capability approval tears the bottle (and its proxy) down.
	var out bytes.Buffer
	code, err := e.be.Exec(t.Context(), backend.InstanceName(id), backend.ExecSpec{
		Argv:   []string{"sh", "/run/bottle/bottle-request", "--reason", "a marker", "--run", "touch /marker"},
		Stdout: &out, Stderr: &out,
	})
	if err != nil || code != 0 {
		t.Fatalf("bottle-request --run: %d %v %s", code, err, out.String())
	}
	e.mustRun("approve", id)
	audit, err := os.ReadFile(filepath.Join(e.home, "state", id, "audit.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	contains(t, "audit.jsonl after the approval's teardown", string(audit),
		`"event":"egress_denied"`, `"host":"`+ip+`"`, `"port":"`+deniedPort+`"`,
		`"event":"egress_allowed"`, `"count":"1"`)

	// Resumed, denied again, then destroyed: nothing is lost.
	e.mustRun("resume", "--detach", id)
	if got := e.in(id, "get", denied.url+"/second"); !strings.HasPrefix(got, "status 403") {
		t.Fatalf("denied host after resume: %s", got)
	}
	e.mustRun("destroy", id)
	if _, err := os.Stat(filepath.Join(e.home, "state", id)); !os.IsNotExist(err) {
		t.Fatalf("destroy left the state dir: %v", err)
	}
	kept, err := os.ReadFile(filepath.Join(e.home, "audit", id+".jsonl"))
	if err != nil {
		t.Fatalf("the audit log is not kept after destroy: %v", err)
	}
	if n := strings.Count(string(kept), `"event":"egress_denied"`); n != 2 {
		t.Errorf("kept audit log has %d denials, want 2 (one per launch):\n%s", n, kept)
	}
	logs := e.mustRun("logs", "--egress", id).stdout
	if n := strings.Count(logs, "denied   "+deniedDest); n != 2 {
		t.Errorf("logs --egress after destroy shows %d denials of %s, want 2:\n%s", n, deniedDest, logs)
	}
	contains(t, "logs --egress after destroy", logs, "allowed  "+strings.TrimPrefix(allowed.url, "http://")+"  1 request(s)")
	if left := e.leftovers(id); len(left) != 0 {
		t.Errorf("after destroy %s still has %v", id, left)
	}
}
