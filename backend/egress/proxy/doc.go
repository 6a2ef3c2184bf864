// Package proxy is the egress proxy of one bottle: an HTTP proxy that runs
// outside the bottle (docker: a sidecar container, the bottle binary
// itself) and is the bottle's only way out.
//
// HTTPS goes through CONNECT, allowed by host name and port; plain HTTP is
// forwarded when its host is allowed. For a plain-HTTP request to one of a
// secret's hosts the proxy replaces the secret's placeholder in the request
// headers with its value and forwards the request with the secret entry's
// scheme (TLS upstream for https). A placeholder headed anywhere else is
// refused. Everything refused gets a 403 with a one-line reason.
//
// The policy, secret values included, arrives on stdin (never in an
// argument, the environment or a file); the proxy reports on stdout one
// JSON event per line: ready, each denial, and per-host counts of allowed
// requests. Live grants arrive on a control port bound to the proxy's own
// loopback, which the bottle cannot reach.
package proxy
