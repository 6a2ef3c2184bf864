package main

import (
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/bottle-dev/bottle/runner"
)

// humanObserver renders runner events as short lines on stderr.
type humanObserver struct {
	mu sync.Mutex
	w  io.Writer
	// quietProgress drops build/pull progress lines.
	quietProgress bool
}

func (o *humanObserver) Event(e runner.Event) {
	o.mu.Lock()
	defer o.mu.Unlock()
	id := e.Identity
	switch e.Type {
	case runner.EventProgress:
		if !o.quietProgress {
			fmt.Fprintf(o.w, "%s: %s\n", id, strings.TrimRight(e.Message, "\n"))
		}
	case runner.EventLaunch:
		fmt.Fprintf(o.w, "%s: launching on %s\n", id, e.Message)
	case runner.EventResume:
		fmt.Fprintf(o.w, "%s: resuming on the %s backend\n", id, e.Message)
	case runner.EventStarted:
		fmt.Fprintf(o.w, "%s: agent started\n", id)
	case runner.EventExited:
		fmt.Fprintf(o.w, "%s: agent exited with code %s\n", id, e.Message)
	case runner.EventTeardown:
		fmt.Fprintf(o.w, "%s: torn down\n", id)
	case runner.EventCleaned:
		fmt.Fprintf(o.w, "%s: state removed\n", id)
	case runner.EventPreserved:
		fmt.Fprintf(o.w, "%s: state preserved by a capability approval\n", id)
	case runner.EventRequest:
		reqID, reason, _ := strings.Cut(e.Message, "\t")
		fmt.Fprintf(o.w, "%s: capability request %s: %s\n    approve: bottle approve %s %s\n    deny:    bottle deny %s %s --reason TEXT\n", id, reqID, reason, id, reqID, id, reqID)
	case runner.EventRejected:
		fmt.Fprintf(o.w, "%s: rejected a malformed request: %s\n", id, e.Message)
	case runner.EventExported:
		fmt.Fprintf(o.w, "%s: %s\n", id, e.Message)
	case runner.EventApproved, runner.EventDenied, runner.EventDetached:
	default:
		fmt.Fprintf(o.w, "%s: %s: %s\n", id, e.Type, e.Message)
	}
}

// prefixWriter prefixes every line written through it, for output of
// several bottles on one terminal.
type prefixWriter struct {
	mu      *sync.Mutex
	w       io.Writer
	prefix  string
	midLine bool
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var sb strings.Builder
	for _, c := range string(b) {
		if !p.midLine {
			sb.WriteString(p.prefix)
			p.midLine = true
		}
		sb.WriteRune(c)
		if c == '\n' {
			p.midLine = false
		}
	}
	if _, err := io.WriteString(p.w, sb.String()); err != nil {
		return 0, err
	}
	return len(b), nil
}
