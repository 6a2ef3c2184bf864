// Package runner turns a loaded bottle.hcl into running bottles and keeps
// the capability-block loop: plan, launch (apply and resume), the cleanup
// decision, status, requests, approve and deny, gc and watch.
//
// It depends on config (what the user wrote), backend (the interface only;
// cmd wires the concrete backends in through Runner.Backend) and
// runner/state. It never prints: progress goes to an Observer, results are
// returned as values for cmd's views.
package runner
