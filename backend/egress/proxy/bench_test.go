package proxy

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/bottle-dev/bottle/backend/egress"
)

// benchSize is the download of BenchmarkDownload: 100 MB.
const benchSize = 100 << 20

// BenchmarkDownload compares a 100 MB download through the proxy (plain
// HTTP forwarded, and HTTPS-style CONNECT tunnel) with the same download
// direct, all on loopback: the proxy's own cost. Compare the MB/s of the
// sub-benchmarks (go test -bench Download ./egress/proxy).
func BenchmarkDownload(b *testing.B) {
	chunk := make([]byte, 1<<20)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(benchSize))
		for range benchSize / len(chunk) {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}))
	b.Cleanup(up.Close)
	port, _ := strconv.Atoi(up.URL[len("http://127.0.0.1:"):])
	s := New(egress.Policy{Identity: "bench", Allow: []egress.Rule{{Host: "127.0.0.1", Port: port}}}, Options{AllowLoopback: true})
	front := httptest.NewServer(s)
	b.Cleanup(front.Close)

	run := func(b *testing.B, c *http.Client) {
		b.SetBytes(benchSize)
		for b.Loop() {
			resp, err := c.Get(up.URL)
			if err != nil {
				b.Fatal(err)
			}
			n, err := io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if err != nil || n != benchSize {
				b.Fatalf("read %d bytes: %v", n, err)
			}
		}
	}
	b.Run("direct", func(b *testing.B) { run(b, &http.Client{Transport: &http.Transport{}}) })
	b.Run("proxied-http", func(b *testing.B) { run(b, client(b, front.URL)) })
	b.Run("proxied-connect", func(b *testing.B) {
		c := client(b, front.URL)
		// Forcing a tunnel: the transport CONNECTs for https only, so
		// dial the tunnel by hand through the proxy.
		tr := c.Transport.(*http.Transport)
		tr.Proxy = nil
		tr.DialContext = tunnelDialer(front.URL)
		run(b, c)
	})
}
