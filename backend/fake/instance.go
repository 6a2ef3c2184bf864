package fake

import (
	"context"
	"io/fs"
	"maps"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/bottle-dev/bottle/backend"
)

// killGrace is how long Halt and Remove wait for a killed agent to return
// before they mark it exited anyway, as SIGKILL would.
const killGrace = 5 * time.Second

// Instance is one bottle of the fake: its spec, its state, its file
// system and its log. Agents get it to read and write files; tests get it
// from Backend.Instance to look at what a bottle held.
type Instance struct {
	b       *Backend
	id      string
	name    string
	spec    backend.Spec
	labels  map[string]string
	created time.Time
	env     []string
	workdir string
	cmd     []string
	fs      *vfs

	mu      sync.Mutex
	state   backend.State
	exit    int
	removed bool
	changed chan struct{} // closed and replaced on every change
	run     *agentRun
	log     []byte
	term    backend.TermSize
}

// agentRun is one run of the main process.
type agentRun struct {
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
	code   int
	killed bool // guarded by Instance.mu
	gates  []*gate
}

func newInstance(b *Backend, spec backend.Spec, img *image) *Instance {
	in := &Instance{
		b: b, id: randomID(), name: backend.InstanceName(spec.Identity), spec: cloneSpec(spec),
		created: time.Now().UTC(), state: backend.StateCreated, changed: make(chan struct{}),
		fs: img.fs.clone(), cmd: slices.Clone(img.cmd),
	}
	in.labels = maps.Clone(spec.Labels)
	if in.labels == nil {
		in.labels = map[string]string{}
	}
	in.labels[backend.LabelManaged] = "true"
	in.labels[backend.LabelIdentity] = spec.Identity
	in.labels[backend.LabelBottle] = spec.Bottle
	in.labels[backend.LabelAgent] = spec.Agent

	user := spec.User
	if user == "" {
		user = img.user
	}
	in.fs.uid, in.fs.gid = numericOwner(user)
	in.workdir = firstNonEmpty(spec.Workdir, img.workdir, "/")
	in.fs.mu.Lock()
	in.fs.mkdirAllLocked(in.workdir, 0o755, 0, 0)
	in.fs.mu.Unlock()
	in.fs.setMounts(spec.Mounts)
	in.env = mergeEnv(img.env, spec.Env)
	return in
}

// numericOwner reads "uid[:gid]"; a user name counts as root, since the
// fake has no passwd lookup of its own.
func numericOwner(user string) (int, int) {
	name, group, _ := strings.Cut(user, ":")
	uid, err := strconv.Atoi(name)
	if err != nil {
		return 0, 0
	}
	gid, err := strconv.Atoi(group)
	if err != nil {
		gid = uid
	}
	return uid, gid
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// mergeEnv overlays KEY=VALUE lists, later ones winning; PATH is always set.
func mergeEnv(lists ...[]string) []string {
	vals := map[string]string{"PATH": defaultPath}
	var order []string
	order = append(order, "PATH")
	for _, l := range lists {
		for _, kv := range l {
			k, v, _ := strings.Cut(kv, "=")
			if _, ok := vals[k]; !ok {
				order = append(order, k)
			}
			vals[k] = v
		}
	}
	out := make([]string, 0, len(order))
	for _, k := range order {
		out = append(out, k+"="+vals[k])
	}
	return out
}

// notify wakes everyone waiting for a change; in.mu must be held.
func (in *Instance) notify() {
	close(in.changed)
	in.changed = make(chan struct{})
}

func (in *Instance) info() backend.Instance {
	in.mu.Lock()
	defer in.mu.Unlock()
	return backend.Instance{
		ID: in.id, Name: in.name, Identity: in.spec.Identity, Bottle: in.spec.Bottle, Agent: in.spec.Agent,
		Image: in.spec.Image, State: in.state, ExitCode: in.exit, CreatedAt: in.created, Labels: maps.Clone(in.labels),
	}
}

// ID is the instance's ID.
func (in *Instance) ID() string { return in.id }

// Name is the instance's name, backend.InstanceName of its identity.
func (in *Instance) Name() string { return in.name }

// Spec returns a copy of the Spec the instance was created from.
func (in *Instance) Spec() backend.Spec { return cloneSpec(in.spec) }

// Env returns the value of key in the main process's environment.
func (in *Instance) Env(key string) string {
	for _, kv := range in.env {
		if k, v, ok := strings.Cut(kv, "="); ok && k == key {
			return v
		}
	}
	return ""
}

// State is the instance's lifecycle state.
func (in *Instance) State() backend.State {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.state
}

// Removed reports whether Remove deleted the instance. Its files stay
// readable for tests; writes fail.
func (in *Instance) Removed() bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.removed
}

// Log returns everything the main process printed so far.
func (in *Instance) Log() string {
	in.mu.Lock()
	defer in.mu.Unlock()
	return string(in.log)
}

// ReadFile reads a file of the instance (through its mounts).
func (in *Instance) ReadFile(p string) ([]byte, error) { return in.fs.readFile(p) }

// WriteFile writes a file of the instance, creating missing parent
// directories. Through a mount it writes a temp file and renames it, as
// the request helper does.
func (in *Instance) WriteFile(p string, data []byte, perm fs.FileMode) error {
	if err := in.fs.mkdirAll(path.Dir(p), 0o755, false); err != nil {
		return err
	}
	return in.fs.write(p, data, writeOpts{perm: perm})
}

// MkdirAll creates a directory of the instance and its missing parents.
func (in *Instance) MkdirAll(p string, perm fs.FileMode) error {
	return in.fs.mkdirAll(p, perm, false)
}

// Symlink creates the symbolic link p pointing to target.
func (in *Instance) Symlink(target, p string) error { return in.fs.symlink(target, p, nil) }

// RemoveAll removes p and everything below it.
func (in *Instance) RemoveAll(p string) error { return in.fs.remove(p, true) }

// Lstat describes p without following a final symlink.
func (in *Instance) Lstat(p string) (File, error) { return in.fs.stat(p, false) }

// Stat describes p, following symlinks.
func (in *Instance) Stat(p string) (File, error) { return in.fs.stat(p, true) }

// Walk lists every entry below the directory root (root excluded),
// parents before their children, with absolute paths.
func (in *Instance) Walk(root string) ([]File, error) { return in.fs.walk(root) }

func (in *Instance) termSize() backend.TermSize {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.term
}

func (in *Instance) setTerm(ts backend.TermSize) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.term = ts
}

// finish ends a run once: the first caller's code wins, 137 when killed.
func (in *Instance) finish(r *agentRun, code int) {
	r.once.Do(func() {
		in.mu.Lock()
		if r.killed {
			code = 137
		}
		r.code = code
		if in.run == r {
			in.state, in.exit = backend.StateExited, code
		}
		in.notify()
		in.mu.Unlock()
		for _, g := range r.gates {
			g.close()
		}
		r.cancel()
		close(r.done)
	})
}

// kill stops the running main process, waiting for it to return (or for
// killGrace, after which it is marked exited regardless).
func (in *Instance) kill(ctx context.Context) error {
	in.mu.Lock()
	r := in.run
	if r == nil || in.state != backend.StateRunning {
		in.mu.Unlock()
		return nil
	}
	r.killed = true
	in.mu.Unlock()
	r.cancel()
	t := time.NewTimer(killGrace)
	defer t.Stop()
	select {
	case <-r.done:
	case <-t.C:
		in.finish(r, 137)
	case <-ctx.Done():
		return ctx.Err()
	}
	return nil
}

func (in *Instance) markRemoved() {
	in.mu.Lock()
	in.removed = true
	in.notify()
	in.mu.Unlock()
	in.fs.markGone()
}
