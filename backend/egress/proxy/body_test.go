package proxy

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/bottle-dev/bottle/backend/egress"
)

// TestBodyPlaceholder: a plain-HTTP request body carrying a placeholder
// to a host that is not the secret's is refused and audited, whether the
// placeholder is in the first maxBodyScan bytes (a 403, nothing
// forwarded) or after them, split across reads (cut short before it); a
// body without one, however long, is forwarded whole, and the secret's
// own host may get its placeholder in a body.
func TestBodyPlaceholder(t *testing.T) {
	var mu sync.Mutex
	var bodies []string
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies = append(bodies, string(b))
		mu.Unlock()
		io.WriteString(w, "got "+strconv.Itoa(len(b)))
	}))
	t.Cleanup(up.Close)
	port, _ := strconv.Atoi(up.URL[strings.LastIndex(up.URL, ":")+1:])
	ph := "bottle-secret-b-k3x9a-API_KEY-0123456789abcdef01234567"
	other := "bottle-secret-b-k3x9a-OWN-fedcba9876543210fedcba98"
	var report syncBuffer
	s := New(egress.Policy{
		Identity: "b-k3x9a",
		Allow:    []egress.Rule{{Host: "127.0.0.1", Port: port}},
		Secrets: []egress.Secret{
			{Name: "API_KEY", Placeholder: ph, Value: "real", Hosts: []egress.Upstream{{Scheme: "http", Host: "api.example", Port: 80}}},
			{Name: "OWN", Placeholder: other, Value: "real2", Hosts: []egress.Upstream{{Scheme: "http", Host: "127.0.0.1", Port: port}}},
		},
	}, Options{Report: &report, AllowLoopback: true})
	front := httptest.NewServer(s)
	t.Cleanup(front.Close)
	c := client(t, front.URL)
	post := func(body io.Reader) (int, string) {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, up.URL+"/upload", body)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := c.Do(req)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}

	if code, msg := post(strings.NewReader(`{"key":"` + ph + `"}`)); code != 403 || !strings.Contains(msg, "request body to 127.0.0.1") || !strings.Contains(msg, "secret API_KEY") {
		t.Errorf("placeholder in a short body: %d %q", code, msg)
	}
	// After maxBodyScan, split across two reads by an unbuffered pipe.
	pr, pw := io.Pipe()
	go func() {
		pw.Write(bytes.Repeat([]byte("a"), maxBodyScan+100))
		pw.Write([]byte(ph[:10]))
		pw.Write([]byte(ph[10:] + "tail"))
		pw.Close()
	}()
	if code, msg := post(pr); code != 403 && code != 0 {
		t.Errorf("placeholder after %d bytes: %d %q", maxBodyScan, code, msg)
	}
	long := strings.Repeat("b", 3*maxBodyScan)
	if code, msg := post(strings.NewReader(long)); code != 200 || msg != "got "+strconv.Itoa(len(long)) {
		t.Errorf("long clean body: %d %q", code, msg)
	}
	if code, msg := post(strings.NewReader("mine: " + other)); code != 200 {
		t.Errorf("a secret's placeholder to its own host: %d %q", code, msg)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, b := range bodies {
		if strings.Contains(b, ph) {
			t.Errorf("the upstream got the placeholder in a body of %d bytes", len(b))
		}
	}
	denials := 0
	for _, e := range report.events(t) {
		if e.Event == EventDenied && strings.Contains(e.Reason, "request body") {
			denials++
		}
	}
	if denials != 2 {
		t.Errorf("%d body denials reported, want 2", denials)
	}
}
