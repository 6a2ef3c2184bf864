package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestAllowlistFlags checks create's allowlist flags against the real
// CLI's behaviour (reference §3.1, §4): a CIDR is validated by the argument
// parser (exit 2) and a bare address becomes a /32 or /128; a host is
// resolved at create (here from FAKESMOLVM_HOSTS, never DNS), a bare
// address standing for itself, "host:port" and an unknown name refused
// with nothing persisted; either flag implies network; and the allowlist
// is recorded where a test can read it.
func TestAllowlistFlags(t *testing.T) {
	f := newFake(t)
	hosts := filepath.Join(t.TempDir(), "hosts")
	if err := os.WriteFile(hosts, []byte("127.0.0.1 allowed.bottle.test # a comment\n::1 allowed.bottle.test\n127.0.0.2 other.bottle.test\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f.env["FAKESMOLVM_HOSTS"] = hosts
	f.check(step{args: "machine create --name ok --allow-host allowed.bottle.test --allow-host 10.1.2.3 --allow-cidr 10.0.0.0/8 --allow-cidr 192.168.1.7 --allow-cidr 2001:db8::1",
		stdout: []string{"Created machine: ok"}})
	m, err := f.store().get("ok")
	if err != nil || m == nil {
		t.Fatalf("machine ok: %v, %v", m, err)
	}
	wantCIDRs := []string{"10.0.0.0/8", "192.168.1.7/32", "2001:db8::1/128", "127.0.0.1/32", "::1/128", "10.1.2.3/32"}
	if !slices.Equal(m.AllowedCIDRs, wantCIDRs) || !slices.Equal(m.DNSFilterHosts, []string{"allowed.bottle.test", "10.1.2.3"}) || !m.Network {
		t.Errorf("recorded cidrs %v, dns hosts %v, network %v; want %v", m.AllowedCIDRs, m.DNSFilterHosts, m.Network, wantCIDRs)
	}
	f.check(step{args: "machine status --name ok --json", stdout: []string{`"network": true`}})

	for _, s := range []step{
		{args: "machine create --name bad1 --allow-cidr 10.0.0.0/33", code: 2,
			stderr: []string{"error: invalid value '10.0.0.0/33' for '--allow-cidr <CIDR>': invalid CIDR '10.0.0.0/33': expected format like 10.0.0.0/8 or 1.1.1.1"}},
		{args: "machine create --name bad2 --allow-cidr example.com", code: 2, stderr: []string{"invalid CIDR 'example.com'"}},
		{args: "machine create --name bad3 --allow-host example.com:443", code: 1,
			stderr: []string{"Error: config operation failed: --allow-host: invalid hostname 'example.com:443': port suffixes are not supported"}},
		{args: "machine create --name bad4 --allow-host [::1]:80", code: 1, stderr: []string{"port suffixes are not supported"}},
		{args: "machine create --name bad5 --allow-host missing.bottle.test", code: 1,
			stderr: []string{"Error: config operation failed: --allow-host: failed to resolve 'missing.bottle.test'"}},
	} {
		f.check(s)
	}
	for _, name := range []string{"bad1", "bad2", "bad3", "bad4", "bad5"} {
		if m, _ := f.store().get(name); m != nil {
			t.Errorf("refused machine %s was persisted", name)
		}
	}
	// A registry image needs a network path; an allowlist is one.
	f.check(step{args: "machine create --name reg --image alpine --allow-cidr 10.0.0.1", stdout: []string{"Created machine: reg"}})
	f.check(step{args: "machine create --name reg2 --image alpine", code: 1, stderr: []string{"no network"}})
}

func (f *fake) store() *store {
	s, err := newStore(f.getenv)
	if err != nil {
		f.t.Fatal(err)
	}
	return s
}

// TestAllowlistMachineIsOffline: the fake records an allowlist but cannot
// enforce it, so the machine's container gets no network at all; an open
// --net machine gets one.
func TestAllowlistMachineIsOffline(t *testing.T) {
	needDocker(t)
	t.Parallel()
	f := newFake(t)
	for name, flags := range map[string]string{"allow": "--allow-cidr 10.0.0.1", "open": "--net"} {
		f.check(step{args: "machine create --name " + name + " " + flags, stdout: []string{"Created machine: " + name}})
		f.check(step{args: "machine start --name " + name, stdout: []string{"running"}})
		out, err := exec.Command("docker", "inspect", "-f", "{{.HostConfig.NetworkMode}}", f.store().container(name)).Output()
		if err != nil {
			t.Fatalf("inspect %s: %v", name, err)
		}
		if mode := strings.TrimSpace(string(out)); (mode == "none") != (name == "allow") {
			t.Errorf("machine %s (%s): network mode %q", name, flags, mode)
		}
	}
}
