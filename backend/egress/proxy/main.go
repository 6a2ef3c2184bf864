package proxy

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/bottle-dev/bottle/backend/egress"
)

// ControlAddr is where a proxy takes live grants: its own loopback, which
// only a process in the proxy's network namespace (docker exec) reaches.
const ControlAddr = "127.0.0.1:3129"

// maxPolicy bounds what the proxy reads from stdin.
const maxPolicy = 4 << 20

// flushEvery is how often the per-host counts are reported.
const flushEvery = 10 * time.Second

// Main runs the proxy command: "serve" (the default) reads the policy
// from stdin until EOF and serves until ctx is done; "grant RULE..." adds
// rules to the proxy running beside it. It returns the exit code.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "grant" {
		if err := grant(ctx, args[1:]); err != nil {
			fmt.Fprintf(stderr, "egress-proxy grant: %v\n", err)
			return 1
		}
		return 0
	}
	if err := serve(ctx, stdin, stdout); err != nil {
		fmt.Fprintf(stderr, "egress-proxy: %v\n", err)
		return 1
	}
	return 0
}

// ReadPolicy reads the policy from r up to EOF. A missing or malformed
// policy is an error: the proxy never starts open.
func ReadPolicy(r io.Reader) (egress.Policy, error) {
	var p egress.Policy
	data, err := io.ReadAll(io.LimitReader(r, maxPolicy+1))
	if err != nil {
		return p, fmt.Errorf("read the policy: %w", err)
	}
	if len(data) > maxPolicy {
		return p, fmt.Errorf("the policy is larger than %d bytes", maxPolicy)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return p, errors.New("no policy on stdin")
	}
	if err := json.Unmarshal(data, &p); err != nil {
		return p, fmt.Errorf("the policy is not valid JSON: %w", err)
	}
	if p.Identity == "" {
		return p, errors.New("the policy names no identity")
	}
	for _, s := range p.Secrets {
		if s.Placeholder == "" || s.Value == "" || len(s.Hosts) == 0 {
			return p, fmt.Errorf("secret %s is incomplete", s.Name)
		}
	}
	return p, nil
}

func serve(ctx context.Context, stdin io.Reader, stdout io.Writer) error {
	p, err := ReadPolicy(stdin)
	if err != nil {
		return err
	}
	var tlsConf *tls.Config
	if p.RootCAs != "" {
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM([]byte(p.RootCAs)) {
			return errors.New("the policy's root_cas hold no PEM certificate")
		}
		tlsConf = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	s := New(p, Options{Report: stdout, TLS: tlsConf})
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", ":"+strconv.Itoa(Port))
	if err != nil {
		return err
	}
	cln, err := lc.Listen(ctx, "tcp", ControlAddr)
	if err != nil {
		_ = ln.Close()
		return err
	}
	proxySrv := &http.Server{Handler: s, ReadHeaderTimeout: 30 * time.Second}
	controlSrv := &http.Server{Handler: s.control(), ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 2)
	go func() { errc <- proxySrv.Serve(ln) }()
	go func() { errc <- controlSrv.Serve(cln) }()
	s.Ready()
	tick := time.NewTicker(flushEvery)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			s.Flush()
		case err := <-errc:
			s.Flush()
			return err
		case <-ctx.Done():
			_ = controlSrv.Close()
			_ = proxySrv.Close()
			s.Flush()
			return nil
		}
	}
}

// Port is the port the proxy serves on (backend.ProxyPort).
const Port = 3128

// control is the handler of the control port: POST /grant with a JSON
// list of rules.
func (s *Server) control() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /grant", func(w http.ResponseWriter, r *http.Request) {
		var rules []egress.Rule
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&rules); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		for _, rule := range rules {
			if _, err := egress.ParseRule(rule.String()); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
		}
		s.Grant(rules)
		w.WriteHeader(http.StatusNoContent)
	})
	return mux
}

// grant parses each argument as a rule and sends them to the control port.
func grant(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return errors.New("name at least one host[:port] to allow")
	}
	var rules []egress.Rule
	for _, a := range args {
		r, err := egress.ParseRule(a)
		if err != nil {
			return err
		}
		rules = append(rules, r)
	}
	body, err := json.Marshal(rules)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+ControlAddr+"/grant", bytes.NewReader(body))
	if err != nil {
		return err
	}
	resp, err := (&http.Client{Transport: &http.Transport{Proxy: nil}}).Do(req)
	if err != nil {
		return fmt.Errorf("reach the proxy: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		return fmt.Errorf("the proxy refused the grant: %s", bytes.TrimSpace(msg))
	}
	return nil
}
