package docker

import (
	"context"
	"sync"

	"github.com/bottle-dev/bottle/backend"
)

// proxyStart is the start of one launch's egress proxy, run beside the
// rest of the launch: PrepareNetwork begins it while the runner resolves
// the image, Create waits for it after making the bottle's container.
type proxyStart struct {
	done chan struct{}
	err  error
}

// wait returns the outcome of the start, or ctx's error first.
func (ps *proxyStart) wait(ctx context.Context) error {
	select {
	case <-ps.done:
		return ps.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// proxyStarts are the starts under way, by identity.
type proxyStarts struct {
	mu sync.Mutex
	m  map[string]*proxyStart
}

// take removes and returns the start of identity (nil when none).
func (s *proxyStarts) take(identity string) *proxyStart {
	s.mu.Lock()
	defer s.mu.Unlock()
	ps := s.m[identity]
	delete(s.m, identity)
	return ps
}

// beginProxy starts the proxy of spec's identity in the background and
// records the start for Create (or Remove) to take. A start still under
// way for the identity finishes first: one proxy per identity at a time.
// bottleNetReady waits for the bottle's network, which the proxy joins
// last.
func (b *Backend) beginProxy(ctx context.Context, spec backend.Spec, bottleNet string, labels map[string]string, bottleNetReady func() error) {
	ps := &proxyStart{done: make(chan struct{})}
	b.starts.mu.Lock()
	if b.starts.m == nil {
		b.starts.m = map[string]*proxyStart{}
	}
	prev := b.starts.m[spec.Identity]
	b.starts.m[spec.Identity] = ps
	b.starts.mu.Unlock()
	go func() {
		defer close(ps.done)
		if prev != nil {
			<-prev.done
		}
		ps.err = b.startProxy(ctx, spec, bottleNet, labels, bottleNetReady)
	}()
}

// ready is a bottleNetReady for a network that exists already.
func ready() error { return nil }
