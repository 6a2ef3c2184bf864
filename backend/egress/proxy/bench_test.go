package proxy

import (
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"testing"
	"time"

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

// BenchmarkDownloadInterleaved times the three downloads of
// BenchmarkDownload in turn within each iteration, in a rotating order,
// and reports each proxied arm's throughput against the direct one (the
// median of the per-iteration ratios): on a shared, noisy machine the
// arms then see the same load.
//
//	go test -run XXX -bench DownloadInterleaved -benchtime 20x ./backend/egress/proxy
func BenchmarkDownloadInterleaved(b *testing.B) {
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
	tunnel := client(b, front.URL)
	tr := tunnel.Transport.(*http.Transport)
	tr.Proxy, tr.DialContext = nil, tunnelDialer(front.URL)
	clients := []*http.Client{{Transport: &http.Transport{}}, client(b, front.URL), tunnel}
	download := func(c *http.Client) time.Duration {
		start := time.Now()
		resp, err := c.Get(up.URL)
		if err != nil {
			b.Fatal(err)
		}
		n, err := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err != nil || n != benchSize {
			b.Fatalf("read %d bytes: %v", n, err)
		}
		return time.Since(start)
	}
	for _, c := range clients { // warm: connections, buffers
		download(c)
	}
	var viaHTTP, viaConnect []float64
	for i := 0; b.Loop(); i++ {
		var d [3]time.Duration
		for k := range 3 {
			arm := (i + k) % 3
			d[arm] = download(clients[arm])
		}
		// Throughput ratio: direct time over proxied time.
		viaHTTP = append(viaHTTP, float64(d[0])/float64(d[1]))
		viaConnect = append(viaConnect, float64(d[0])/float64(d[2]))
	}
	b.ReportMetric(median(viaHTTP), "http/direct")
	b.ReportMetric(median(viaConnect), "connect/direct")
	b.ReportMetric(0, "ns/op")
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	return s[len(s)/2]
}
