package proxy

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bottle-dev/bottle/backend/egress"
)

// TestConnectEagerBytes: bytes a client sends in the same write as its
// CONNECT head (a TLS hello sent eagerly) reach the upstream before what
// follows, and the upstream's answer comes back, each direction closing on
// its own.
func TestConnectEagerBytes(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	got := make(chan string, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		data, _ := io.ReadAll(c) // until the client half-closes
		got <- string(data)
		io.WriteString(c, "upstream heard "+strconv.Itoa(len(data))+" bytes")
	}()
	port := ln.Addr().(*net.TCPAddr).Port
	s := New(egress.Policy{Identity: "t", Allow: []egress.Rule{{Host: "127.0.0.1", Port: port}}}, Options{AllowLoopback: true})
	front := httptest.NewServer(s)
	t.Cleanup(front.Close)

	c, err := net.Dial("tcp", strings.TrimPrefix(front.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	addr := ln.Addr().String()
	if _, err := io.WriteString(c, "CONNECT "+addr+" HTTP/1.1\r\nHost: "+addr+"\r\n\r\nEAGER-"); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodConnect})
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("CONNECT: %v %v", resp, err)
	}
	if _, err := io.WriteString(c, "LATER"); err != nil {
		t.Fatal(err)
	}
	_ = c.(*net.TCPConn).CloseWrite()
	if s := <-got; s != "EAGER-LATER" {
		t.Errorf("upstream got %q, want EAGER-LATER", s)
	}
	answer, _ := io.ReadAll(br)
	if string(answer) != "upstream heard 11 bytes" {
		t.Errorf("client got %q", answer)
	}
}
