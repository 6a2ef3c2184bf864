package fake

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/bottle-dev/bottle/backend"
)

// Op names a Backend method in the call log, FailOn and Hook.
type Op string

// The operations of backend.Backend.
const (
	OpPing           Op = "Ping"
	OpEnsureImage    Op = "EnsureImage"
	OpCreate         Op = "Create"
	OpCopyIn         Op = "CopyIn"
	OpCopyOut        Op = "CopyOut"
	OpRun            Op = "Run"
	OpStart          Op = "Start"
	OpExec           Op = "Exec"
	OpLogs           Op = "Logs"
	OpInspect        Op = "Inspect"
	OpHalt           Op = "Halt"
	OpRemove         Op = "Remove"
	OpList           Op = "List"
	OpLeftovers      Op = "Leftovers"
	OpRemoveResource Op = "RemoveResource"
)

// Call is one recorded call of a Backend method, with the arguments that
// matter for assertions.
type Call struct {
	// Seq numbers the calls of one Backend from 1, in the order they began.
	Seq  int
	Time time.Time
	Op   Op
	// ID is the instance ID or name the call named.
	ID string
	// Path is CopyIn's destination or CopyOut's source.
	Path     string
	Image    backend.Image     // EnsureImage
	Spec     backend.Spec      // Create
	Argv     []string          // Exec
	Match    map[string]string // List
	Resource backend.Resource  // RemoveResource
}

// Agent is a scripted agent: what runs as an instance's main process. It
// reads and writes the instance's files through in, talks on io, and
// returns its exit code. ctx is done when the instance is stopped or
// removed; the agent must then return promptly (its code is replaced by
// 137, as for a killed process).
type Agent func(ctx context.Context, in *Instance, io backend.IO) int

// Backend is an in-memory backend.Backend. The zero value is not usable;
// call New. It is safe for concurrent use.
type Backend struct {
	mu       sync.Mutex
	name     string
	seq      int
	calls    []Call
	fail     map[Op]error
	hooks    map[Op][]func(Call) error
	agents   map[string]Agent
	defAgent Agent
	live     map[string]*Instance // by ID
	all      []*Instance
	images   map[string]*image
	builds   []Build
	networks map[string]backend.Resource // by name
	extra    []backend.Resource
}

var _ backend.Backend = (*Backend)(nil)

// New returns an empty fake named "fake", with no images: EnsureImage of a
// reference "pulls" an empty image, and AddImage seeds one with files.
func New() *Backend {
	return &Backend{
		name:     "fake",
		fail:     map[Op]error{},
		hooks:    map[Op][]func(Call) error{},
		agents:   map[string]Agent{},
		live:     map[string]*Instance{},
		images:   map[string]*image{},
		networks: map[string]backend.Resource{},
	}
}

// SetName sets what Name returns (e.g. "docker", so that a runner records
// and resumes bottles under that backend name).
func (b *Backend) SetName(name string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.name = name
}

// Name returns the backend's name, "fake" unless SetName changed it.
func (b *Backend) Name() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.name
}

// FailOn makes every later call of op fail with an error wrapping err,
// before it does anything; a nil err clears the failure.
func (b *Backend) FailOn(op Op, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err == nil {
		delete(b.fail, op)
		return
	}
	b.fail[op] = err
}

// Hook runs fn at the start of every later call of op, after the call is
// recorded and before it does anything. An error from fn fails the call.
// fn runs without the backend's lock, so it may call the backend.
func (b *Backend) Hook(op Op, fn func(Call) error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.hooks[op] = append(b.hooks[op], fn)
}

// SetAgent makes a the main process of instances of image. An image built
// FROM image (a per-bottle image) runs the same agent unless it has its
// own.
func (b *Backend) SetAgent(image string, a Agent) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.agents[image] = a
}

// SetDefaultAgent sets the agent of images that have none. Without one,
// instances run their Spec.Command with the fake's shell (Shell).
func (b *Backend) SetDefaultAgent(a Agent) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.defAgent = a
}

// agentFor walks the FROM chain of ref for an agent.
func (b *Backend) agentFor(ref string) Agent {
	b.mu.Lock()
	defer b.mu.Unlock()
	seen := map[string]bool{}
	for ref != "" && !seen[ref] {
		seen[ref] = true
		if a := b.agents[ref]; a != nil {
			return a
		}
		im := b.images[ref]
		if im == nil {
			break
		}
		ref = im.parent
	}
	if b.defAgent != nil {
		return b.defAgent
	}
	return Shell
}

// Calls returns the recorded calls, oldest first; with ops, only the calls
// of those operations.
func (b *Backend) Calls(ops ...Op) []Call {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []Call
	for _, c := range b.calls {
		if len(ops) == 0 || slices.Contains(ops, c.Op) {
			out = append(out, c)
		}
	}
	return out
}

// Instances returns every instance ever created, removed ones included,
// in creation order.
func (b *Backend) Instances() []*Instance {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.all)
}

// Instance returns the latest instance created for identity (which may
// have been removed since), or nil.
func (b *Backend) Instance(identity string) *Instance {
	b.mu.Lock()
	defer b.mu.Unlock()
	for i := len(b.all) - 1; i >= 0; i-- {
		if b.all[i].spec.Identity == identity {
			return b.all[i]
		}
	}
	return nil
}

// begin records a call and applies the injected failure and hooks.
func (b *Backend) begin(c Call) error {
	b.mu.Lock()
	b.seq++
	c.Seq, c.Time = b.seq, time.Now()
	b.calls = append(b.calls, c)
	err := b.fail[c.Op]
	hooks := slices.Clone(b.hooks[c.Op])
	b.mu.Unlock()
	if err != nil {
		return fmt.Errorf("fake %s: %w", c.Op, err)
	}
	for _, h := range hooks {
		if err := h(c); err != nil {
			return fmt.Errorf("fake %s: %w", c.Op, err)
		}
	}
	return nil
}

// lookup finds a live instance by ID or name.
func (b *Backend) lookup(id string) (*Instance, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if in := b.live[id]; in != nil {
		return in, nil
	}
	for _, in := range b.live {
		if in.name == id {
			return in, nil
		}
	}
	return nil, fmt.Errorf("no instance %s: %w", id, backend.ErrNotFound)
}

// Ping answers unless a failure is injected.
func (b *Backend) Ping(ctx context.Context) error {
	if err := b.begin(Call{Op: OpPing}); err != nil {
		return err
	}
	return ctx.Err()
}

func randomID() string {
	var buf [32]byte
	_, _ = rand.Read(buf[:]) // crypto/rand.Read never fails
	return hex.EncodeToString(buf[:])
}

func cloneSpec(s backend.Spec) backend.Spec {
	s.Command = slices.Clone(s.Command)
	s.Env = slices.Clone(s.Env)
	s.Mounts = slices.Clone(s.Mounts)
	s.Labels = maps.Clone(s.Labels)
	return s
}
