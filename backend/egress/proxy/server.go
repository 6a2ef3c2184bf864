package proxy

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/bottle-dev/bottle/backend/egress"
)

// Server enforces one bottle's policy. Its zero value is not usable: make
// one with New.
type Server struct {
	mu     sync.RWMutex
	policy egress.Policy

	report    *reporter
	dialer    net.Dialer
	transport *http.Transport
	// allowLoopback lets tests reach upstreams on 127.0.0.1; in a bottle's
	// proxy a loopback destination would be the proxy's own control port.
	allowLoopback bool
}

// Options configure a Server.
type Options struct {
	// Report receives the JSON event lines.
	Report io.Writer
	// RootCAs verify TLS upstreams; nil means the system's.
	TLS *tls.Config
	// AllowLoopback permits destinations on loopback addresses (tests).
	AllowLoopback bool
	// Now is the clock of the events; time.Now when nil.
	Now func() time.Time
}

// New returns a server enforcing p.
func New(p egress.Policy, o Options) *Server {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Report == nil {
		o.Report = io.Discard
	}
	s := &Server{policy: p, report: newReporter(o.Report, o.Now), allowLoopback: o.AllowLoopback}
	s.dialer = net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	s.transport = &http.Transport{
		Proxy:                 nil, // never chain to another proxy
		DialContext:           s.dial,
		TLSClientConfig:       o.TLS,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          64,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   15 * time.Second,
		ResponseHeaderTimeout: 5 * time.Minute,
	}
	return s
}

// Grant adds rules to the policy in place: the next request may use them.
func (s *Server) Grant(rules []egress.Rule) {
	s.mu.Lock()
	s.policy.Allow = append(slices.Clone(s.policy.Allow), rules...)
	s.mu.Unlock()
	for _, r := range rules {
		s.report.emit(Event{Event: EventGrant, Host: r.Host, Port: r.Port})
	}
}

// Flush reports the allowed counts gathered so far.
func (s *Server) Flush() { s.report.flush() }

// Ready reports that the proxy serves.
func (s *Server) Ready() { s.report.emit(Event{Event: EventReady}) }

// dial connects to an upstream, refusing loopback and unspecified
// addresses whatever a name resolves to.
func (s *Server) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return nil, err
	}
	var last error = fmt.Errorf("%s has no address", host)
	for _, ip := range ips {
		ip = ip.Unmap()
		if !s.allowLoopback && (ip.IsLoopback() || ip.IsUnspecified()) {
			last = fmt.Errorf("%s resolves to %s, a loopback address", host, ip)
			continue
		}
		c, err := s.dialer.DialContext(ctx, network, net.JoinHostPort(ip.String(), port))
		if err == nil {
			return c, nil
		}
		last = err
	}
	return nil, last
}

func (s *Server) deny(w http.ResponseWriter, r *http.Request, host string, port int, reason string) {
	s.report.emit(Event{Event: EventDenied, Host: host, Port: port, Method: r.Method, Reason: reason})
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Connection", "close")
	w.WriteHeader(http.StatusForbidden)
	fmt.Fprintf(w, "bottle egress: %s\n", reason)
}

// ServeHTTP handles CONNECT and absolute-form plain-HTTP requests.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodConnect {
		s.connect(w, r)
		return
	}
	if r.URL.Host == "" || !r.URL.IsAbs() {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintln(w, "bottle egress: this is a proxy; send absolute-form requests (set HTTP_PROXY)")
		return
	}
	host, port, err := egress.SplitHostPort(r.URL.Host, 80)
	if err != nil || r.URL.Scheme != "http" {
		s.deny(w, r, r.URL.Host, 0, fmt.Sprintf("%s is not an http:// URL with a host; use CONNECT for https", r.URL.Redacted()))
		return
	}
	s.mu.RLock()
	p := s.policy
	s.mu.RUnlock()
	up, toSecretHost := p.Upstream(host, port)
	var foreign []egress.Secret // secrets whose placeholder may not go here
	for _, sec := range p.Secrets {
		if toSecretHost && listed(sec, up) {
			continue
		}
		foreign = append(foreign, sec)
		if carries(r, sec.Placeholder) {
			s.deny(w, r, host, port, placeholderReason(host, port, sec, ""))
			return
		}
	}
	if !p.Allows(host, port) {
		s.deny(w, r, host, port, fmt.Sprintf("%s:%d is not in this bottle's egress allowlist", host, port))
		return
	}
	sec, guard, err := guardBody(r, foreign)
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, "bottle egress: reading the request body: %v\n", err)
		return
	}
	if sec != nil {
		s.deny(w, r, host, port, placeholderReason(host, port, *sec, "body "))
		return
	}
	scheme, target := "http", net.JoinHostPort(host, strconv.Itoa(port))
	if toSecretHost {
		scheme, target = up.Scheme, net.JoinHostPort(up.Host, strconv.Itoa(up.Port))
		swap(r, p.Secrets, up)
	}
	s.report.allowed(host, port)
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL.Scheme, pr.Out.URL.Host = scheme, target
			pr.Out.Host = r.URL.Host
			if toSecretHost {
				pr.Out.Host = up.Host
			}
			pr.Out.Header.Del("Proxy-Authorization")
		},
		Transport:     s.transport,
		FlushInterval: -1,
		BufferPool:    copyBuffers,
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, err error) {
			if sec := guard.placeholder(); sec != nil {
				// The placeholder came after the first maxBodyScan bytes:
				// the request is cut short before it, and refused.
				s.deny(w, r, host, port, placeholderReason(host, port, *sec, "body "))
				return
			}
			w.WriteHeader(http.StatusBadGateway)
			fmt.Fprintf(w, "bottle egress: %s: %v\n", target, err)
		},
	}
	rp.ServeHTTP(w, r)
}

// copyBuffers are the response copy's buffers: 256 KiB rather than
// ReverseProxy's 32 KiB, so a large download costs the proxy an eighth of
// the reads and writes.
var copyBuffers = &bufferPool{pool: sync.Pool{New: func() any { b := make([]byte, 256<<10); return &b }}}

type bufferPool struct{ pool sync.Pool }

func (p *bufferPool) Get() []byte  { return *p.pool.Get().(*[]byte) }
func (p *bufferPool) Put(b []byte) { p.pool.Put(&b) }

// connect tunnels a CONNECT to an allowed host:port.
func (s *Server) connect(w http.ResponseWriter, r *http.Request) {
	host, port, err := egress.SplitHostPort(r.Host, 443)
	if err != nil {
		s.deny(w, r, r.Host, 0, fmt.Sprintf("CONNECT %s: not host:port", r.Host))
		return
	}
	s.mu.RLock()
	p := s.policy
	s.mu.RUnlock()
	for _, sec := range p.Secrets {
		if carries(r, sec.Placeholder) {
			s.deny(w, r, host, port, fmt.Sprintf("CONNECT to %s:%d carries the placeholder of secret %s", host, port, sec.Name))
			return
		}
	}
	if !p.Allows(host, port) {
		s.deny(w, r, host, port, fmt.Sprintf("%s:%d is not in this bottle's egress allowlist", host, port))
		return
	}
	up, err := s.dial(r.Context(), "tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		w.WriteHeader(http.StatusBadGateway)
		fmt.Fprintf(w, "bottle egress: %s:%d: %v\n", host, port, err)
		return
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		_ = up.Close()
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	conn, buf, err := hj.Hijack()
	if err != nil {
		_ = up.Close()
		return
	}
	s.report.allowed(host, port)
	if _, err := conn.Write([]byte("HTTP/1.1 200 Connection established\r\n\r\n")); err != nil {
		_ = conn.Close()
		_ = up.Close()
		return
	}
	// Bytes the client sent after its CONNECT head (a TLS hello sent
	// eagerly) are already in buf: they go first. Then both directions
	// copy between the bare connections, which the kernel splices
	// without passing the bytes through the proxy (a reader wrapping
	// conn would make Go copy them through a buffer).
	if n := buf.Reader.Buffered(); n > 0 {
		early, _ := buf.Reader.Peek(n)
		if _, err := up.Write(early); err != nil {
			_ = conn.Close()
			_ = up.Close()
			return
		}
	}
	go pipe(up, conn)
	pipe(conn, up)
}

// pipe copies src to dst and then half-closes, so that each direction
// ends on its own.
func pipe(dst net.Conn, src net.Conn) {
	_, _ = io.Copy(dst, src)
	if tc, ok := dst.(interface{ CloseWrite() error }); ok {
		_ = tc.CloseWrite()
	} else {
		_ = dst.Close()
	}
}

// carries reports whether the request's target or headers contain ph.
func carries(r *http.Request, ph string) bool {
	if ph == "" {
		return false
	}
	if strings.Contains(r.RequestURI, ph) || strings.Contains(r.Host, ph) {
		return true
	}
	for _, vs := range r.Header {
		for _, v := range vs {
			if strings.Contains(v, ph) {
				return true
			}
		}
	}
	return false
}

// placeholderReason is the denial of a request whose headers (or, with
// where "body ", body) carry sec's placeholder.
func placeholderReason(host string, port int, sec egress.Secret, where string) string {
	return fmt.Sprintf("request %sto %s:%d carries the placeholder of secret %s, which may go only to %s", where, host, port, sec.Name, hostList(sec))
}

func listed(sec egress.Secret, up egress.Upstream) bool {
	for _, h := range sec.Hosts {
		if h == up {
			return true
		}
	}
	return false
}

func hostList(sec egress.Secret) string {
	var out []string
	for _, h := range sec.Hosts {
		out = append(out, h.String())
	}
	return strings.Join(out, ", ")
}

// swap replaces, in the request headers, the placeholder of every secret
// that may go to up with its value.
func swap(r *http.Request, secrets []egress.Secret, up egress.Upstream) {
	for _, sec := range secrets {
		if !listed(sec, up) {
			continue
		}
		for k, vs := range r.Header {
			for i, v := range vs {
				r.Header[k][i] = strings.ReplaceAll(v, sec.Placeholder, sec.Value)
			}
		}
	}
}
