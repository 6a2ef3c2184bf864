package proxy

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/bottle-dev/bottle/backend/egress"
)

// chunked returns data in reads of the sizes step gives, cycling.
type chunked struct {
	data  []byte
	steps []byte
	i     int
}

func (c *chunked) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	n := 1
	if len(c.steps) > 0 {
		n = int(c.steps[c.i%len(c.steps)])%17 + 1
		c.i++
	}
	n = min(n, len(p), len(c.data))
	copy(p, c.data[:n])
	c.data = c.data[n:]
	return n, nil
}

// FuzzBodyGuard: however a body is split into reads, the guard passes
// it whole when it holds no placeholder, and otherwise stops with
// errPlaceholderInBody before the whole placeholder has passed.
func FuzzBodyGuard(f *testing.F) {
	const ph = "bottle-secret-b-x-K-0123"
	f.Add([]byte("hello "+ph+" world"), []byte{3, 5, 1})
	f.Add([]byte("no secret here, bottle-secret-b-x-K-012"), []byte{0})
	f.Add([]byte(ph), []byte{16, 16})
	f.Fuzz(func(t *testing.T, data, steps []byte) {
		secrets := []egress.Secret{{Name: "K", Placeholder: ph}}
		g := &bodyGuard{r: &chunked{data: data, steps: steps}, closer: io.NopCloser(nil), secrets: secrets, keep: len(ph) - 1}
		var out bytes.Buffer
		buf := make([]byte, 7)
		var err error
		for {
			var n int
			n, err = g.Read(buf)
			out.Write(buf[:n])
			if err != nil {
				break
			}
		}
		if bytes.Contains(data, []byte(ph)) {
			if !errors.Is(err, errPlaceholderInBody) || g.placeholder() == nil {
				t.Fatalf("placeholder not caught: %v", err)
			}
			if bytes.Contains(out.Bytes(), []byte(ph)) {
				t.Fatal("the whole placeholder passed")
			}
			return
		}
		if err != io.EOF || !bytes.Equal(out.Bytes(), data) {
			t.Fatalf("clean body changed: %v %q", err, out.Bytes())
		}
	})
}
