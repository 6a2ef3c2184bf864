package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeAnthropic is a stand-in for api.anthropic.com on the host: a TLS
// server on ip:443 with a certificate for that name, signed by a CA the
// test hands to the egress proxy (BOTTLE_EGRESS_CA). It records the API
// keys it was sent.
type fakeAnthropic struct {
	caFile string
	mu     sync.Mutex
	keys   []string
	bad    []string
}

func startFakeAnthropic(t *testing.T, ip string) *fakeAnthropic {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "bottle e2e CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	leafTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "api.anthropic.com"},
		DNSNames:  []string{"api.anthropic.com"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeAnthropic{caFile: filepath.Join(t.TempDir(), "ca.pem")}
	if err := os.WriteFile(f.caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, "443"))
	if err != nil {
		t.Fatalf("the fake API needs %s:443: %v", ip, err)
	}
	srv := &http.Server{
		Handler:   http.HandlerFunc(f.serve),
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{leafDER}, PrivateKey: key}}},
	}
	go srv.ServeTLS(ln, "", "")
	t.Cleanup(func() { _ = srv.Close() })
	return f
}

// serve answers POST /v1/messages like the Messages API, and notes what
// does not look like Claude Code's request.
func (f *fakeAnthropic) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	var msg struct {
		Model    string            `json:"model"`
		Messages []json.RawMessage `json:"messages"`
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.keys = append(f.keys, r.Header.Get("x-api-key"))
	switch {
	case r.Method != http.MethodPost || r.URL.Path != "/v1/messages":
		f.bad = append(f.bad, r.Method+" "+r.URL.Path)
	case r.Host != "api.anthropic.com":
		f.bad = append(f.bad, "Host "+r.Host)
	case r.Header.Get("anthropic-version") == "":
		f.bad = append(f.bad, "no anthropic-version")
	case json.Unmarshal(body, &msg) != nil || msg.Model == "" || len(msg.Messages) == 0:
		f.bad = append(f.bad, "body "+string(body))
	}
	w.Header().Set("content-type", "application/json")
	io.WriteString(w, `{"id":"msg_e2e","type":"message","role":"assistant","content":[{"type":"text","text":"hi from the fake API"}],"stop_reason":"end_turn"}`)
}

func (f *fakeAnthropic) seen() (keys, bad []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.keys...), append([]string(nil), f.bad...)
}

// TestClaudeCodeThroughEgressProxy: the agent is configured like
// examples/claude (ANTHROPIC_BASE_URL=http://api.anthropic.com, the key a
// secret for api.anthropic.com, only that host allowed), and makes the
// request Claude Code makes. The proxy, with api.anthropic.com mapped to a
// fake API on the host (the real one is never contacted), speaks TLS to it
// with the real key; the bottle only ever holds the placeholder.
func TestClaudeCodeThroughEgressProxy(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	ip := bridgeIP(t)
	api := startFakeAnthropic(t, ip)
	const key = "sk-ant-api03-e2e-REAL-4c1d"
	e.env = append(e.env, "ANTHROPIC_API_KEY="+key, "BOTTLE_EGRESS_HOSTS=api.anthropic.com:"+ip, "BOTTLE_EGRESS_CA="+api.caFile)
	e.probeAgent()
	e.write("bottle.hcl", `
agent "claude" {
  dockerfile = "agent/Dockerfile"
  command    = ["/probe", "sleep"]
  env = {
    ANTHROPIC_BASE_URL                       = "http://api.anthropic.com"
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC = "1"
  }
  egress {
    allow = ["api.anthropic.com"]
  }
  secret "ANTHROPIC_API_KEY" {
    value = env("ANTHROPIC_API_KEY")
    hosts = ["api.anthropic.com"]
  }
}
bottle "claude" { agent = agent.claude }
`)
	e.removeBuiltImages()
	id := identities(e.mustRun("apply", "--auto-approve", "--detach").stderr)[0]

	if got := e.in(id, "messages"); !strings.HasPrefix(got, "status 200: ") || !strings.Contains(got, "hi from the fake API") {
		t.Fatalf("the agent's Messages request: %s", got)
	}
	keys, bad := api.seen()
	if len(keys) != 1 || keys[0] != key {
		t.Errorf("the fake API got keys %q, want the real key once", keys)
	}
	if len(bad) != 0 {
		t.Errorf("the fake API got requests unlike Claude Code's: %q", bad)
	}
	env := e.in(id, "env")
	if strings.Contains(env, key) {
		t.Error("the real key is in the bottle's environment")
	}
	contains(t, "the bottle's environment", env, "ANTHROPIC_API_KEY=bottle-secret-"+id+"-ANTHROPIC_API_KEY-")
	if strings.Contains(inspectAll(t, id), key) {
		t.Error("the real key is in a docker inspect or log of the identity's containers")
	}
	// Another host is refused, and the placeholder cannot be sent there.
	if got := e.in(id, "get", "http://example.com/", "ANTHROPIC_API_KEY"); !strings.HasPrefix(got, "status 403") {
		t.Errorf("the placeholder to another host: %s", got)
	}
	e.mustRun("destroy", id)
	if left := e.leftovers(id); len(left) != 0 {
		t.Errorf("after destroy %s still has %v", id, left)
	}
}
