package proxy

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/bottle-dev/bottle/backend/egress"
)

// syncBuffer is a bytes.Buffer safe for the proxy's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) events(t *testing.T) []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Event
	sc := bufio.NewScanner(bytes.NewReader(s.b.Bytes()))
	for sc.Scan() {
		var e Event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("event %q: %v", sc.Text(), err)
		}
		out = append(out, e)
	}
	return out
}

// upstream is a local server that records the Authorization it got.
type upstream struct {
	*httptest.Server
	mu   sync.Mutex
	auth []string
}

func newUpstream(t *testing.T, tls bool) *upstream {
	u := &upstream{}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.mu.Lock()
		u.auth = append(u.auth, r.Header.Get("Authorization"))
		u.mu.Unlock()
		io.WriteString(w, "hello from "+r.Host)
	})
	if tls {
		u.Server = httptest.NewTLSServer(h)
	} else {
		u.Server = httptest.NewServer(h)
	}
	t.Cleanup(u.Close)
	return u
}

func (u *upstream) port(t *testing.T) int {
	p, err := strconv.Atoi(strings.TrimPrefix(u.URL[strings.LastIndex(u.URL, ":"):], ":"))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func (u *upstream) seen() []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]string(nil), u.auth...)
}

func client(t testing.TB, proxyURL string) *http.Client {
	pu, err := url.Parse(proxyURL)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(pu)}}
}

func get(t *testing.T, c *http.Client, target string, header http.Header) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, target, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestProxyPolicy drives the proxy with local upstreams: allowed plain
// HTTP passes, a denied host gets a 403 with a reason, the secret's value
// reaches only its host (over TLS upstream), a placeholder headed
// elsewhere is refused, and a live grant opens a denied host.
func TestProxyPolicy(t *testing.T) {
	allowed, denied, api := newUpstream(t, false), newUpstream(t, false), newUpstream(t, true)
	const ph = "bottle-secret-b-k3x9a-KEY-0123456789abcdef01234567"
	p := egress.Policy{
		Identity: "b-k3x9a",
		Allow:    []egress.Rule{{Host: "127.0.0.1", Port: allowed.port(t)}},
		Secrets: []egress.Secret{{
			Name: "KEY", Placeholder: ph, Value: "sk-real",
			Hosts: []egress.Upstream{{Scheme: "https", Host: "127.0.0.1", Port: api.port(t)}},
		}},
	}
	var report syncBuffer
	tlsConf := api.Client().Transport.(*http.Transport).TLSClientConfig
	s := New(p, Options{Report: &report, TLS: tlsConf, AllowLoopback: true})
	front := httptest.NewServer(s)
	t.Cleanup(front.Close)
	c := client(t, front.URL)

	if code, body := get(t, c, allowed.URL+"/x", nil); code != 200 || !strings.HasPrefix(body, "hello") {
		t.Errorf("allowed host: %d %q", code, body)
	}
	code, body := get(t, c, denied.URL+"/x", nil)
	if code != http.StatusForbidden || !strings.Contains(body, "not in this bottle's egress allowlist") || strings.Count(body, "\n") != 1 {
		t.Errorf("denied host: %d %q", code, body)
	}
	if len(denied.seen()) != 0 {
		t.Error("the denied upstream was reached")
	}

	// The agent speaks plain HTTP to the API with the placeholder; the
	// upstream gets the real value over TLS.
	apiPlain := "http://127.0.0.1:" + strconv.Itoa(api.port(t)) + "/v1/messages"
	auth := http.Header{"Authorization": {"Bearer " + ph}}
	if code, body := get(t, c, apiPlain, auth); code != 200 {
		t.Errorf("secret host: %d %q", code, body)
	}
	if got := api.seen(); len(got) != 1 || got[0] != "Bearer sk-real" {
		t.Errorf("the API saw %q, want the real key", got)
	}
	// The placeholder sent to the allowed, non-secret host is refused.
	code, body = get(t, c, allowed.URL+"/leak", auth)
	if code != http.StatusForbidden || !strings.Contains(body, "placeholder of secret KEY") {
		t.Errorf("placeholder to another host: %d %q", code, body)
	}
	for _, a := range allowed.seen() {
		if strings.Contains(a, ph) || strings.Contains(a, "sk-real") {
			t.Errorf("the other host saw %q", a)
		}
	}

	// HTTPS through CONNECT: allowed to the secret's host, denied elsewhere.
	tlsClient := client(t, front.URL)
	tlsClient.Transport.(*http.Transport).TLSClientConfig = tlsConf
	if code, _ := get(t, tlsClient, api.URL+"/direct", nil); code != 200 {
		t.Errorf("CONNECT to the API: %d", code)
	}
	deniedTLS := newUpstream(t, true)
	if code, body := get(t, tlsClient, deniedTLS.URL, nil); code != 0 || !strings.Contains(body, "Forbidden") {
		t.Errorf("CONNECT to a denied host: %d %q", code, body)
	}

	// A live grant opens the denied host for the next request.
	s.Grant([]egress.Rule{{Host: "127.0.0.1", Port: denied.port(t)}})
	if code, _ := get(t, c, denied.URL+"/x", nil); code != 200 {
		t.Errorf("granted host: %d", code)
	}

	s.Flush()
	var denials, grants int
	counts := map[int]int{}
	for _, e := range report.events(t) {
		switch e.Event {
		case EventDenied:
			denials++
		case EventGrant:
			grants++
		case EventAllowed:
			counts[e.Port] += e.Count
		}
	}
	if denials != 3 || grants != 1 || counts[allowed.port(t)] != 1 || counts[api.port(t)] != 2 || counts[denied.port(t)] != 1 {
		t.Errorf("report: %d denials, %d grants, counts %v", denials, grants, counts)
	}
}

// TestLoopbackRefused: without AllowLoopback a name or address on
// loopback (the proxy's own control port) is never dialled.
func TestLoopbackRefused(t *testing.T) {
	up := newUpstream(t, false)
	p := egress.Policy{Identity: "x", Allow: []egress.Rule{{Host: "127.0.0.1", Port: up.port(t)}, {Host: "localhost", Port: up.port(t)}}}
	front := httptest.NewServer(New(p, Options{}))
	t.Cleanup(front.Close)
	c := client(t, front.URL)
	for _, target := range []string{up.URL, "http://localhost:" + strconv.Itoa(up.port(t))} {
		if code, _ := get(t, c, target, nil); code != http.StatusBadGateway {
			t.Errorf("%s: %d, want 502", target, code)
		}
	}
	if len(up.seen()) != 0 {
		t.Error("a loopback upstream was reached")
	}
}

// TestReadPolicyFailsClosed: no policy, bad JSON or an incomplete secret
// stop the proxy before it serves.
func TestReadPolicyFailsClosed(t *testing.T) {
	for _, in := range []string{"", "  ", "{", `{"allow":[]}`, `{"identity":"x","secrets":[{"name":"K","placeholder":"p","hosts":[{"scheme":"https","host":"a","port":443}]}]}`} {
		if _, err := ReadPolicy(strings.NewReader(in)); err == nil {
			t.Errorf("ReadPolicy(%q) succeeded", in)
		}
	}
	var out bytes.Buffer
	if code := Main(context.Background(), nil, strings.NewReader(""), &out, &out); code == 0 {
		t.Error("Main without a policy exited 0")
	}
}

// tunnelDialer dials every address through a CONNECT to the proxy at
// proxyURL.
func tunnelDialer(proxyURL string) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", strings.TrimPrefix(proxyURL, "http://"))
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(c, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", addr, addr)
		br := bufio.NewReader(c)
		resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodConnect})
		if err != nil {
			c.Close()
			return nil, err
		}
		if resp.StatusCode != http.StatusOK {
			c.Close()
			return nil, fmt.Errorf("CONNECT %s: %s", addr, resp.Status)
		}
		return c, nil
	}
}
