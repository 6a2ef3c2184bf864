package proxy

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"sync/atomic"

	"github.com/bottle-dev/bottle/backend/egress"
)

// maxBodyScan is how much of a request body the proxy holds back and
// checks before it forwards anything: a placeholder in it is refused with
// a 403. Beyond it the body streams through a check that aborts the
// request when a placeholder appears.
const maxBodyScan = 1 << 20

// errPlaceholderInBody ends a forwarded body that carries a placeholder.
var errPlaceholderInBody = errors.New("the request body carries a secret's placeholder")

// bodyGuard reads a request body, failing with errPlaceholderInBody once
// one of the placeholders appears, also across reads. found names the
// secret.
type bodyGuard struct {
	r       io.Reader
	closer  io.Closer
	secrets []egress.Secret
	// tail is the end of what was read so far, one byte short of the
	// longest placeholder: enough to see one split between reads.
	tail []byte
	keep int
	// found is set by the transport's goroutine and read by the handler.
	found atomic.Pointer[egress.Secret]
}

func (g *bodyGuard) Read(p []byte) (int, error) {
	if g.found.Load() != nil {
		return 0, errPlaceholderInBody
	}
	n, err := g.r.Read(p)
	if n > 0 {
		window := append(g.tail, p[:n]...)
		if sec := placeholderIn(window, g.secrets); sec != nil {
			g.found.Store(sec)
			return 0, errPlaceholderInBody
		}
		g.tail = append(g.tail[:0], window[max(0, len(window)-g.keep):]...)
	}
	return n, err
}

func (g *bodyGuard) Close() error { return g.closer.Close() }

// placeholder returns the secret whose placeholder ended the body, if
// any (nil for a nil guard).
func (g *bodyGuard) placeholder() *egress.Secret {
	if g == nil {
		return nil
	}
	return g.found.Load()
}

// placeholderIn returns the first secret whose placeholder is in b.
func placeholderIn(b []byte, secrets []egress.Secret) *egress.Secret {
	for i := range secrets {
		if ph := secrets[i].Placeholder; ph != "" && bytes.Contains(b, []byte(ph)) {
			return &secrets[i]
		}
	}
	return nil
}

// guardBody checks the body of r for the placeholders of secrets (those
// that may not go where r goes). It returns the secret whose placeholder
// is in the first maxBodyScan bytes, or replaces r.Body with one that
// forwards those bytes and checks the rest as it streams.
func guardBody(r *http.Request, secrets []egress.Secret) (*egress.Secret, *bodyGuard, error) {
	if len(secrets) == 0 || r.Body == nil || r.Body == http.NoBody {
		return nil, nil, nil
	}
	head, err := io.ReadAll(io.LimitReader(r.Body, maxBodyScan))
	if err != nil {
		return nil, nil, err
	}
	if sec := placeholderIn(head, secrets); sec != nil {
		return sec, nil, nil
	}
	keep := 0
	for _, s := range secrets {
		keep = max(keep, len(s.Placeholder)-1)
	}
	g := &bodyGuard{r: r.Body, closer: r.Body, secrets: secrets, keep: keep,
		tail: append([]byte(nil), head[max(0, len(head)-keep):]...)}
	r.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(head), g), g}
	return nil, g, nil
}
