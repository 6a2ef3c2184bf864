package docker

import (
	"context"
	"fmt"
	"hash/fnv"
	"net/netip"

	"github.com/docker/docker/api/types/network"
)

// SubnetPoolEnv is the setting (read by cmd) that overrides
// DefaultSubnetPool.
const SubnetPoolEnv = "BOTTLE_SUBNET_POOL"

// DefaultSubnetPool is the IPv4 range bottle networks take their subnets
// from. The engine's own default pools hold about 30 bridge networks; a
// /28 per identity out of a /16 holds 4,096.
const DefaultSubnetPool = "10.210.0.0/16"

// subnetBits is the size of one bottle network: 16 addresses, of which the
// bottle uses two (the gateway and its container) and a proxy one more.
const subnetBits = 28

// subnetAttempts caps how often one create retries after another process
// took the subnet it picked between its look and its create.
const subnetAttempts = 16

// ParseSubnetPool checks a subnet pool setting: an IPv4 CIDR range of at
// least one /28.
func ParseSubnetPool(s string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(s)
	switch {
	case err != nil:
		return netip.Prefix{}, fmt.Errorf("%s=%q: %w: give an IPv4 range such as %s", SubnetPoolEnv, s, err, DefaultSubnetPool)
	case !p.Addr().Is4():
		return netip.Prefix{}, fmt.Errorf("%s=%q: not an IPv4 range: give one such as %s", SubnetPoolEnv, s, DefaultSubnetPool)
	case p.Bits() > subnetBits:
		return netip.Prefix{}, fmt.Errorf("%s=%q: smaller than one /%d network: give a range of /%d or larger, such as %s", SubnetPoolEnv, s, subnetBits, subnetBits, DefaultSubnetPool)
	}
	return p.Masked(), nil
}

// SetSubnetPool makes the backend's networks take their subnets from pool
// (see ParseSubnetPool) instead of DefaultSubnetPool.
func (b *Backend) SetSubnetPool(pool netip.Prefix) {
	b.pool = pool
}

func (b *Backend) subnetPool() netip.Prefix {
	if b.pool.IsValid() {
		return b.pool
	}
	return netip.MustParsePrefix(DefaultSubnetPool)
}

// createNetwork creates the network name with a subnet of its own from the
// pool. Where to start looking is a hash of the name, so concurrent
// launches rarely want the same subnet; when one loses that race (the
// engine refuses an overlapping pool), it looks again and takes the next
// free one. The engine reserves a pool before the network it is for shows
// in its list, so a refusal whose cause the list does not show yet is
// treated as such a loss too: the refused subnet is avoided and the next
// free one tried, up to subnetAttempts; the engine's message text is never
// read.
func (b *Backend) createNetwork(ctx context.Context, name string, opts network.CreateOptions) error {
	pool := b.subnetPool()
	var lastErr error
	var refused []netip.Prefix
	for range subnetAttempts {
		used, err := b.usedSubnets(ctx)
		if err != nil {
			return err
		}
		sub, ok := freeSubnet(pool, name, append(used.subnets, refused...))
		if !ok {
			return fmt.Errorf("create network %s: no free /%d subnet left in the subnet pool %s (%d networks use it): "+
				"remove the bottles you no longer need (bottle destroy, bottle gc) or set %s to a larger IPv4 range",
				name, subnetBits, pool, used.inPool(pool), SubnetPoolEnv)
		}
		opts.IPAM = &network.IPAM{Driver: "default", Config: []network.IPAMConfig{{Subnet: sub.String()}}}
		_, err = b.c.NetworkCreate(ctx, name, opts)
		if err == nil {
			return nil
		}
		lastErr = wrap(err, "create network %s (subnet %s)", name, sub)
		now, lerr := b.usedSubnets(ctx)
		if lerr != nil || now.names[name] {
			// The name is taken: the caller adopts or reports it.
			return lastErr
		}
		refused = append(refused, sub)
	}
	return lastErr
}

// subnets is what the engine's networks occupy.
type subnets struct {
	subnets []netip.Prefix
	names   map[string]bool
}

func (s subnets) inPool(pool netip.Prefix) int {
	n := 0
	for _, p := range s.subnets {
		if p.Overlaps(pool) {
			n++
		}
	}
	return n
}

// usedSubnets lists every network's IPv4 subnets, bottle's or not: the
// engine refuses any overlap.
func (b *Backend) usedSubnets(ctx context.Context) (subnets, error) {
	nets, err := b.c.NetworkList(ctx, network.ListOptions{})
	if err != nil {
		return subnets{}, wrap(err, "list networks")
	}
	s := subnets{names: make(map[string]bool, len(nets))}
	for _, n := range nets {
		s.names[n.Name] = true
		for _, c := range n.IPAM.Config {
			if p, err := netip.ParsePrefix(c.Subnet); err == nil && p.Addr().Is4() {
				s.subnets = append(s.subnets, p.Masked())
			}
		}
	}
	return s, nil
}

// freeSubnet picks the first /28 of pool, starting at one chosen by name's
// hash and wrapping around, that overlaps none of used.
func freeSubnet(pool netip.Prefix, name string, used []netip.Prefix) (netip.Prefix, bool) {
	n := uint32(1) << (subnetBits - pool.Bits())
	h := fnv.New32a()
	h.Write([]byte(name))
	start := h.Sum32() % n
	base := pool.Addr().As4()
	baseN := uint32(base[0])<<24 | uint32(base[1])<<16 | uint32(base[2])<<8 | uint32(base[3])
	for i := range n {
		idx := (start + i) % n
		a := baseN + idx<<(32-subnetBits)
		sub := netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(a >> 24), byte(a >> 16), byte(a >> 8), byte(a)}), subnetBits)
		if !overlapsAny(sub, used) {
			return sub, true
		}
	}
	return netip.Prefix{}, false
}

func overlapsAny(p netip.Prefix, used []netip.Prefix) bool {
	for _, u := range used {
		if p.Overlaps(u) {
			return true
		}
	}
	return false
}
