package smolvm

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bottle-dev/bottle/backend"
)

// TestRealSmolvmEgress checks, on a real smolvm (BOTTLE_SMOLVM_REAL=1),
// the part of smolvm's allowlist the smolmachines mapping relies on: with
// the flags this backend passes for "localhost:*" and "*.localhost:*", a
// lookup of the allowed name is forwarded and answered, and a lookup of any
// other name gets NXDOMAIN from smolvm itself, never reaching a resolver.
//
// Nothing leaves this machine: the guest's resolver is a test server on a
// loopback address (--dns; smolvm's virtio-net gateway, which an allowlist
// selects, forwards to a host loopback resolver as it is), which answers
// every name with 127.0.0.1, so an NXDOMAIN can only be smolvm's filter;
// "localhost" resolves on the host from /etc/hosts at create; the probe
// only asks, and connects nowhere. The resolver must listen on port 53,
// so the test needs root or CAP_NET_BIND_SERVICE.
func TestRealSmolvmEgress(t *testing.T) {
	if os.Getenv("BOTTLE_SMOLVM_REAL") != "1" {
		t.Skip("set BOTTLE_SMOLVM_REAL=1 (with smolvm and /dev/kvm) to test a real smolvm's allowlist")
	}
	b, err := New(Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	var srv *dnsServer
	var addr string
	for _, ip := range []string{"127.0.0.153", "127.0.0.154", "127.0.0.155"} {
		if srv, err = startDNS(t, ip+":53"); err == nil {
			addr = ip
			break
		}
		if errors.Is(err, syscall.EACCES) {
			t.Fatalf("the test resolver must listen on port 53 of a loopback address: run as root or with CAP_NET_BIND_SERVICE (%v)", err)
		}
	}
	if srv == nil {
		t.Fatalf("no loopback address with a free port 53: %v", err)
	}
	net, err := networkArgs(backend.Spec{Network: true, Egress: policy(t, "localhost:*", "*.localhost:*")})
	if err != nil || !slices.Equal(net, []string{"--allow-host", "localhost"}) {
		t.Fatalf("networkArgs = %v, %v", net, err)
	}
	var r [4]byte
	rand.Read(r[:]) //nolint:errcheck // crypto/rand does not fail on Linux
	name := "bottle-egress-test-" + hex.EncodeToString(r[:])
	smolvm := func(args ...string) string {
		t.Helper()
		out, err := exec.CommandContext(ctx, b.bin, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("smolvm %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	smolvm(append(append([]string{"machine", "create", "--name", name}, net...), "--dns", addr)...)
	t.Cleanup(func() {
		cctx, ccancel := context.WithTimeout(context.Background(), time.Minute)
		defer ccancel()
		if out, err := exec.CommandContext(cctx, b.bin, "machine", "delete", "--name", name, "-f").CombinedOutput(); err != nil {
			t.Errorf("delete %s: %v\n%s", name, err, out)
		}
	})
	smolvm("machine", "start", "--name", name)
	smolvm("machine", "cp", buildProbe(t), name+":/usr/local/bin/dnsprobe", "--mode", "755")
	out := smolvm("machine", "exec", "--name", name, "--", "/usr/local/bin/dnsprobe", "localhost", "denied.bottle.test")
	if !strings.Contains(out, "localhost NOERROR 127.0.0.1") {
		t.Errorf("the allowed name did not resolve through the test resolver:\n%s", out)
	}
	if !strings.Contains(out, "denied.bottle.test NXDOMAIN") {
		t.Errorf("a name outside the allowlist was not refused:\n%s", out)
	}
	asked := srv.asked()
	if !slices.Contains(asked, "localhost") || slices.Contains(asked, "denied.bottle.test") {
		t.Errorf("the test resolver was asked %v: want localhost, and never the denied name (smolvm must answer it)", asked)
	}
}
