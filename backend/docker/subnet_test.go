package docker

import (
	"context"
	"net/netip"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/network"

	"github.com/bottle-dev/bottle/backend"
)

func TestParseSubnetPool(t *testing.T) {
	if p, err := ParseSubnetPool("10.9.8.7/24"); err != nil || p.String() != "10.9.8.0/24" {
		t.Errorf("10.9.8.7/24 = %v, %v; want 10.9.8.0/24", p, err)
	}
	for _, bad := range []string{"", "10.0.0.0", "fd00::/64", "10.0.0.0/29", "nonsense/16"} {
		_, err := ParseSubnetPool(bad)
		if err == nil || !strings.Contains(err.Error(), SubnetPoolEnv) {
			t.Errorf("ParseSubnetPool(%q) = %v, want an error naming %s", bad, err, SubnetPoolEnv)
		}
	}
}

func TestFreeSubnet(t *testing.T) {
	pool := netip.MustParsePrefix("10.210.0.0/26") // four /28s
	first, ok := freeSubnet(pool, "bottle-a", nil)
	if !ok || first.Bits() != subnetBits || !pool.Contains(first.Addr()) {
		t.Fatalf("freeSubnet = %v, %v: want a /28 inside %v", first, ok, pool)
	}
	if again, _ := freeSubnet(pool, "bottle-a", nil); again != first {
		t.Errorf("the same name picked %v then %v: want a deterministic start", first, again)
	}
	used := []netip.Prefix{first}
	seen := map[netip.Prefix]bool{first: true}
	for range 3 {
		next, ok := freeSubnet(pool, "bottle-a", used)
		if !ok || seen[next] || !pool.Contains(next.Addr()) {
			t.Fatalf("with %v used: %v, %v", used, next, ok)
		}
		seen[next] = true
		used = append(used, next)
	}
	if p, ok := freeSubnet(pool, "bottle-a", used); ok {
		t.Errorf("a full pool gave %v", p)
	}
	// A wide network that covers the pool leaves nothing in it.
	if p, ok := freeSubnet(pool, "bottle-b", []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}); ok {
		t.Errorf("a pool under 10.0.0.0/8 gave %v", p)
	}
	// Names spread over the pool.
	big := netip.MustParsePrefix(DefaultSubnetPool)
	starts := map[netip.Prefix]bool{}
	for _, n := range []string{"bottle-a", "bottle-b", "bottle-c", "bottle-d", "bottle-e"} {
		p, _ := freeSubnet(big, n, nil)
		starts[p] = true
	}
	if len(starts) < 4 {
		t.Errorf("five names started at %d subnets", len(starts))
	}
}

// TestSubnetPoolOnEngine: bottle networks take /28s from the pool, and a
// full pool is an error that names the setting.
func TestSubnetPoolOnEngine(t *testing.T) {
	b := engine(t)
	pool := netip.MustParsePrefix("10.211.255.224/27") // two /28s
	b.SetSubnetPool(pool)
	var got []netip.Prefix
	for i := range 3 {
		spec := newSpec()
		spec.Labels = map[string]string{runLabel: runID}
		err := b.PrepareNetwork(t.Context(), spec)
		t.Cleanup(func() { _ = b.removeNetwork(context.Background(), backend.InstanceName(spec.Identity)) })
		if i == 2 {
			if err == nil || !strings.Contains(err.Error(), SubnetPoolEnv) || !strings.Contains(err.Error(), pool.String()) {
				t.Fatalf("third network in a pool of two: %v, want an error naming %s and %s", err, SubnetPoolEnv, pool)
			}
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		n, err := b.c.NetworkInspect(t.Context(), backend.InstanceName(spec.Identity), network.InspectOptions{})
		if err != nil || len(n.IPAM.Config) != 1 {
			t.Fatalf("inspect: %v %+v", err, n.IPAM)
		}
		p := netip.MustParsePrefix(n.IPAM.Config[0].Subnet)
		if p.Bits() != subnetBits || !pool.Contains(p.Addr()) {
			t.Errorf("network subnet %v, want a /%d in %v", p, subnetBits, pool)
		}
		got = append(got, p)
	}
	if len(got) == 2 && got[0] == got[1] {
		t.Errorf("two networks share %v", got[0])
	}
}
