package proxy

import (
	"context"
	"io"
	"net"
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
	up, front := benchServers(b)

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
	up, front := benchServers(b)
	tunnel := client(b, front.URL)
	tr := tunnel.Transport.(*http.Transport)
	tr.Proxy, tr.DialContext = nil, tunnelDialer(front.URL)
	// The floor: a bare TCP relay in front of the server, the least any
	// proxy on the path costs (a second connection, the kernel's copy
	// between the two); its client asks the relay as if it were the server.
	relayAddr := relay(b, up.Listener.Addr().String())
	relayed := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, relayAddr)
	}}}
	clients := []*http.Client{{Transport: &http.Transport{}}, client(b, front.URL), tunnel, relayed}
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
	var viaHTTP, viaConnect, viaRelay, httpRelay, connectRelay []float64
	for i := 0; b.Loop(); i++ {
		var d [4]time.Duration
		for k := range 4 {
			arm := (i + k) % 4
			d[arm] = download(clients[arm])
		}
		// Throughput ratio: the other arm's time over this one's.
		viaHTTP = append(viaHTTP, float64(d[0])/float64(d[1]))
		viaConnect = append(viaConnect, float64(d[0])/float64(d[2]))
		viaRelay = append(viaRelay, float64(d[0])/float64(d[3]))
		httpRelay = append(httpRelay, float64(d[3])/float64(d[1]))
		connectRelay = append(connectRelay, float64(d[3])/float64(d[2]))
	}
	b.ReportMetric(median(viaHTTP), "http/direct")
	b.ReportMetric(median(viaConnect), "connect/direct")
	b.ReportMetric(median(viaRelay), "relay/direct")
	b.ReportMetric(median(httpRelay), "http/relay")
	b.ReportMetric(median(connectRelay), "connect/relay")
	b.ReportMetric(0, "ns/op")
}

// relay listens on loopback and copies every connection to and from
// target: no parsing, no policy, the kernel's splice both ways.
func relay(b *testing.B, target string) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			go pipe(up, c)
			go pipe(c, up)
		}
	}()
	return ln.Addr().String()
}

// benchServers starts the upstream, which serves benchSize bytes to every
// request, and a proxy in front of it that allows it.
func benchServers(b *testing.B) (up, front *httptest.Server) {
	chunk := make([]byte, 1<<20)
	up = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
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
	front = httptest.NewServer(s)
	b.Cleanup(front.Close)
	return up, front
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	return s[len(s)/2]
}
