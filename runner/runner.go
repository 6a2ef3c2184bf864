package runner

import (
	"context"
	"fmt"
	"time"

	"github.com/bottle-dev/bottle/backend"
	"github.com/bottle-dev/bottle/runner/state"
)

// cleanupTimeout bounds teardown and the final state writes that run after
// the user interrupted: they must finish even though ctx is done.
const cleanupTimeout = 30 * time.Second

// Runner holds what every operation needs.
type Runner struct {
	Home state.Home
	// Backend returns the backend with the given name ("docker",
	// "smolmachines"). The runner never constructs one itself.
	Backend func(name string) (backend.Backend, error)
	// Observer receives progress events; nil discards them.
	Observer Observer
	// fault, set by tests, fails an approval at a step (approval.go).
	fault func(identity, step string) error
}

// Event is one thing that happened, for the views to render.
type Event struct {
	Type     EventType `json:"type"`
	Identity string    `json:"identity,omitempty"`
	Bottle   string    `json:"bottle,omitempty"`
	Message  string    `json:"message,omitempty"`
	Time     time.Time `json:"time"`
}

// EventType names an Event; the names are stable (they appear in --json).
type EventType string

// Event types.
const (
	EventProgress   EventType = "progress"
	EventLaunch     EventType = "launch"
	EventStarted    EventType = "started"
	EventExited     EventType = "exited"
	EventTeardown   EventType = "teardown"
	EventPreserved  EventType = "preserved"
	EventCleaned    EventType = "cleaned"
	EventRequest    EventType = "request"
	EventRejected   EventType = "rejected"
	EventApproved   EventType = "approved"
	EventDenied     EventType = "denied"
	EventResume     EventType = "resume"
	EventWarning    EventType = "warning"
	EventDetached   EventType = "detached"
	EventWatchError EventType = "error"
)

// Observer receives Events. Implementations must be safe for concurrent use:
// watch reports from one goroutine per bottle.
type Observer interface {
	Event(Event)
}

// ObserverFunc adapts a function to Observer.
type ObserverFunc func(Event)

// Event calls f.
func (f ObserverFunc) Event(e Event) { f(e) }

func (r *Runner) emit(t EventType, identity, bottle, msg string) {
	if r.Observer == nil {
		return
	}
	r.Observer.Event(Event{Type: t, Identity: identity, Bottle: bottle, Message: msg, Time: time.Now().UTC()})
}

func (r *Runner) backend(name string) (backend.Backend, error) {
	if name == "" {
		name = backend.Docker
	}
	if r.Backend == nil {
		return nil, fmt.Errorf("no backend %q configured", name)
	}
	return r.Backend(name)
}

// backendOf returns the backend that runs identity dir, as its metadata
// records it: a missing field, or missing or unreadable metadata, means
// docker (the backward-compatible default).
func (r *Runner) backendOf(dir *state.Dir) (backend.Backend, error) {
	name := backend.Docker
	if md, err := dir.ReadMetadata(); err == nil {
		name = md.BackendName()
	}
	return r.backend(name)
}

// cleanupContext is the context teardown and final writes run under: it
// survives the cancellation of ctx, for a bounded time.
func cleanupContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
}
