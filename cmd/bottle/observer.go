package main

import (
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/bottle-dev/bottle/cmd/bottle/internal/termsafe"
	"github.com/bottle-dev/bottle/runner"
)

// humanObserver renders runner events as short lines on stderr. Every
// message may quote the agent (request ids and reasons, rejected file names,
// build output of approved lines), so each goes through termsafe.
type humanObserver struct {
	mu sync.Mutex
	w  io.Writer
}

func (o *humanObserver) Event(e runner.Event) {
	o.mu.Lock()
	defer o.mu.Unlock()
	id := termsafe.String(e.Identity)
	msg := termsafe.String(e.Message)
	switch e.Type {
	case runner.EventProgress:
		for _, l := range strings.Split(strings.TrimRight(e.Message, "\n"), "\n") {
			fmt.Fprintf(o.w, "%s: %s\n", id, termsafe.Output(l))
		}
	case runner.EventLaunch:
		fmt.Fprintf(o.w, "%s: launching on %s\n", id, msg)
	case runner.EventResume:
		fmt.Fprintf(o.w, "%s: resuming on the %s backend\n", id, msg)
	case runner.EventStarted:
		fmt.Fprintf(o.w, "%s: agent started\n", id)
	case runner.EventStopped:
		fmt.Fprintf(o.w, "%s: agent stopped: a capability approval is rebuilding this bottle\n", id)
	case runner.EventExited:
		fmt.Fprintf(o.w, "%s: agent exited with code %s\n", id, msg)
	case runner.EventTeardown:
		fmt.Fprintf(o.w, "%s: torn down\n", id)
	case runner.EventCleaned:
		fmt.Fprintf(o.w, "%s: state removed\n", id)
	case runner.EventPreserved:
		fmt.Fprintf(o.w, "%s: state preserved by a capability approval\n", id)
	case runner.EventRequest:
		reqID, reason, _ := strings.Cut(e.Message, "\t")
		reqID, reason = termsafe.String(reqID), termsafe.String(reason)
		fmt.Fprintf(o.w, "%s: capability request %s: %s\n    approve: bottle approve %s %s\n    deny:    bottle deny %s %s --reason TEXT\n", id, reqID, reason, id, reqID, id, reqID)
	case runner.EventRejected:
		fmt.Fprintf(o.w, "%s: rejected a malformed request: %s\n", id, msg)
	case runner.EventExported:
		fmt.Fprintf(o.w, "%s: %s\n", id, termsafe.Lines(e.Message))
	case runner.EventApproved, runner.EventDenied, runner.EventDetached:
	default:
		fmt.Fprintf(o.w, "%s: %s: %s\n", id, e.Type, termsafe.Lines(e.Message))
	}
}

// prefixWriter prefixes every line written through it, for output of
// several bottles on one terminal. The output is the agent's, so each piece
// goes through termsafe.Output: colours are dropped and every other control
// or escape sequence is shown, never sent (a sequence split across two
// writes is shown in two visible halves).
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
	for rest := string(b); rest != ""; {
		piece, tail, nl := strings.Cut(rest, "\n")
		rest = tail
		if !p.midLine && (piece != "" || nl) {
			sb.WriteString(p.prefix)
			p.midLine = true
		}
		sb.WriteString(termsafe.Output(piece))
		if nl {
			sb.WriteByte('\n')
			p.midLine = false
		}
	}
	if _, err := io.WriteString(p.w, sb.String()); err != nil {
		return 0, err
	}
	return len(b), nil
}
