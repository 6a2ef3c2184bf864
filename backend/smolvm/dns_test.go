package smolvm

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"golang.org/x/net/dns/dnsmessage"
)

// dnsServer is a test resolver on a loopback UDP address: it answers every
// A question with 127.0.0.1, except the names in nx (NXDOMAIN), and keeps
// the names it was asked.
type dnsServer struct {
	conn net.PacketConn
	nx   []string
	mu   sync.Mutex
	seen []string
}

func startDNS(t *testing.T, addr string, nx ...string) (*dnsServer, error) {
	conn, err := net.ListenPacket("udp4", addr)
	if err != nil {
		return nil, err
	}
	s := &dnsServer{conn: conn, nx: nx}
	done := make(chan struct{})
	t.Cleanup(func() { conn.Close(); <-done })
	go func() {
		defer close(done)
		buf := make([]byte, 1500)
		for {
			n, from, err := conn.ReadFrom(buf)
			if err != nil {
				return
			}
			if out := s.answer(buf[:n]); out != nil {
				conn.WriteTo(out, from) //nolint:errcheck // a lost answer shows as the probe's timeout
			}
		}
	}()
	return s, nil
}

func (s *dnsServer) answer(packet []byte) []byte {
	var q dnsmessage.Message
	if err := q.Unpack(packet); err != nil || len(q.Questions) != 1 {
		return nil
	}
	question := q.Questions[0]
	name := strings.TrimSuffix(strings.ToLower(question.Name.String()), ".")
	s.mu.Lock()
	s.seen = append(s.seen, name)
	s.mu.Unlock()
	m := dnsmessage.Message{Header: dnsmessage.Header{ID: q.ID, Response: true, RecursionDesired: q.RecursionDesired, RecursionAvailable: true},
		Questions: q.Questions}
	switch {
	case slices.Contains(s.nx, name):
		m.RCode = dnsmessage.RCodeNameError
	case question.Type == dnsmessage.TypeA:
		m.Answers = []dnsmessage.Resource{{
			Header: dnsmessage.ResourceHeader{Name: question.Name, Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET, TTL: 60},
			Body:   &dnsmessage.AResource{A: [4]byte{127, 0, 0, 1}},
		}}
	}
	out, err := m.Pack()
	if err != nil {
		return nil
	}
	return out
}

func (s *dnsServer) asked() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.seen)
}

// buildProbe builds testdata/dnsprobe for the host's architecture (a
// machine's too), static.
func buildProbe(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "dnsprobe")
	cmd := exec.Command("go", "build", "-o", bin, "./testdata/dnsprobe")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build dnsprobe: %v\n%s", err, out)
	}
	return bin
}

// TestDNSProbe checks the probe the real-smolvm egress test runs in a
// machine against the test resolver, on loopback: an answered name and an
// NXDOMAIN are told apart.
func TestDNSProbe(t *testing.T) {
	srv, err := startDNS(t, "127.0.0.1:0", "denied.bottle.test")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(buildProbe(t), "allowed.bottle.test", "denied.bottle.test")
	cmd.Env = append(os.Environ(), "DNSPROBE_SERVER="+srv.conn.LocalAddr().String())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("dnsprobe: %v\n%s", err, out)
	}
	if want := "allowed.bottle.test NOERROR 127.0.0.1\ndenied.bottle.test NXDOMAIN\n"; string(out) != want {
		t.Errorf("dnsprobe printed %q, want %q", out, want)
	}
	if got := srv.asked(); !slices.Equal(got, []string{"allowed.bottle.test", "denied.bottle.test"}) {
		t.Errorf("server asked %v", got)
	}
}
