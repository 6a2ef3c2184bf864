package runner

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/bottle-dev/bottle/backend"
	"github.com/bottle-dev/bottle/config"
	"github.com/bottle-dev/bottle/runner/state"
)

// LaunchOptions says how to launch one bottle block.
type LaunchOptions struct {
	Config *config.Config
	Bottle *config.Bottle
	// Vars are the non-sensitive --var values, recorded so that a resume
	// evaluates the config the same way.
	Vars map[string]string
	// Detach starts the agent and returns at once.
	Detach bool
	// IO is the attached agent's terminal or streams.
	IO backend.IO
	// TTY allocates a terminal for the agent (stdin is a terminal).
	TTY bool
}

// LaunchResult is how one launch ended.
type LaunchResult struct {
	Identity string
	Bottle   string
	Backend  string
	// ExitCode is the agent's exit code (attached runs).
	ExitCode int
	// Preserved means a capability approval kept the state dir: the
	// caller prints the resume hint.
	Preserved bool
	Detached  bool
	// Interrupted means ctx was cancelled (Ctrl-C) and the bottle was torn
	// down.
	Interrupted bool
}

// session is one launch in progress: an identity owned by this process.
type session struct {
	cfg     *config.Config
	bottle  *config.Bottle
	dir     *state.Dir
	meta    *state.Metadata
	be      backend.Backend
	resumed bool
	// perBottle: the bottle runs on its per-bottle image.
	perBottle bool
	// builtAgent: this launch built the agent image (see
	// dropSupersededAgentImages).
	builtAgent bool
	// cwdInImage: the cwd came with the image (lookupCwd); restore does
	// not copy it.
	cwdInImage bool
	// builtHash is the hash of the per-bottle Dockerfile the image was
	// built from ("" when none).
	builtHash string
	// cwd is the cwd image to make once the bottle has its copy (a cache
	// miss); nil otherwise.
	cwd *cwdCache
	// cwdFP is the fingerprint of the cwd the cwd image holds (a hit).
	cwdFP string
	// cwdFamily and cwdKey name the cwd image (lookupCwd), and so the
	// launch tree recorded for that content (tree.go).
	cwdFamily, cwdKey string
	// tree is the recording of the launch tree (copy mode, first launch).
	tree *launchTree
	// ran: the agent was started, so its workspace may hold work.
	ran bool
	// egress and egressEnv are the launch's egress policy and the
	// variables it puts in the bottle (resolveEgress).
	egress    *backend.EgressSpec
	egressEnv map[string]string
}

// Apply launches a new bottle of opts.Bottle under a freshly minted identity.
func (r *Runner) Apply(ctx context.Context, opts LaunchOptions) (*LaunchResult, error) {
	be, err := r.backend(backendName(opts.Bottle))
	if err != nil {
		return nil, withRange(err, opts.Bottle.BackendRange)
	}
	if err := ping(ctx, be); err != nil {
		return nil, err
	}
	_, lock, dir, err := r.mint(opts.Bottle.Name)
	if err != nil {
		return nil, err
	}
	defer lock.Unlock()
	sessionID, err := newUUID()
	if err != nil {
		_ = dir.Remove()
		return nil, err
	}
	s := &session{
		cfg: opts.Config, bottle: opts.Bottle, dir: dir, be: be,
		meta: &state.Metadata{
			Bottle: opts.Bottle.Name, Agent: opts.Bottle.Agent.Name, ConfigPath: opts.Config.Path,
			Backend: be.Name(), SessionID: sessionID, Vars: opts.Vars, VarFile: recordedVarFile(opts.Config),
		},
	}
	if c := opts.Bottle.Cwd; c != nil {
		s.meta.Cwd, s.meta.CopyCwd = c.Path, c.Copy
	}
	return r.run(ctx, s, opts)
}

// ping checks the engine answers before anything is created, so that a
// stopped engine is one clear error rather than a failed launch.
func ping(ctx context.Context, be backend.Backend) error {
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := be.Ping(pctx); err != nil {
		return fmt.Errorf("the %s backend does not answer: %w", be.Name(), err)
	}
	return nil
}

// mint picks an identity no other launch has, creates its state dir and
// takes its owner lock.
func (r *Runner) mint(bottle string) (string, *state.Lock, *state.Dir, error) {
	for range 16 {
		id, err := state.NewIdentity(bottle)
		if err != nil {
			return "", nil, nil, err
		}
		lock, err := r.Home.TryLockOwner(id)
		if errors.Is(err, state.ErrLocked) {
			continue
		}
		if err != nil {
			return "", nil, nil, err
		}
		d, err := r.Home.Dir(id)
		if err == nil && d.Exists() {
			_ = lock.Unlock()
			continue
		}
		if d, err = r.Home.Create(id); err != nil {
			_ = lock.Unlock()
			return "", nil, nil, err
		}
		return id, lock, d, nil
	}
	return "", nil, nil, fmt.Errorf("could not mint a free identity for %s", bottle)
}

// run is the launch core shared by apply and resume. The caller owns the
// identity's lock; run ends with the cleanup decision for attached runs.
func (r *Runner) run(ctx context.Context, s *session, opts LaunchOptions) (res *LaunchResult, err error) {
	id := s.dir.Identity
	res = &LaunchResult{Identity: id, Bottle: s.bottle.Name, Backend: s.be.Name()}
	started := false
	// The network (and an egress proxy) is made while the image is
	// resolved (a resume's build takes longer than the network); Create
	// adopts it.
	network := func() error { return errNoNetwork }
	// The cleanup decision runs after the launch has fully closed: the
	// instance is gone and output flushed. It must run on every path,
	// including errors and interrupts.
	cached := func() {}
	defer func() {
		releaseCwd(s)
		if res.Detached && err == nil {
			return
		}
		// The cwd image is made from the host folder, not the bottle:
		// its making ends on its own, before the cleanup decision.
		cached()
		prepared := network() != errNoNetwork
		err = errors.Join(err, r.decide(ctx, s, res, started, prepared))
	}()

	if err := r.resolveEgress(s); err != nil {
		return res, err
	}
	network = r.prepareNetwork(ctx, s)
	spec, err := r.prepare(ctx, s, opts)
	if err != nil {
		return res, err
	}
	if err := network(); err != nil && err != errNoNetwork {
		return res, withRange(fmt.Errorf("create bottle %s: %w", id, err), s.bottle.DeclRange)
	}
	r.emit(EventLaunch, id, s.bottle.Name, spec.Image)
	started = true
	inst, err := s.be.Create(ctx, *spec)
	if err != nil {
		return res, withRange(fmt.Errorf("create bottle %s: %w", id, err), s.bottle.DeclRange)
	}
	if s.builtAgent {
		// The new image is in use now: the builds it supersedes can go.
		r.dropSupersededAgentImages(ctx, s.be, s.bottle.Agent.Dockerfile)
	}
	if err := r.restore(ctx, s, inst.ID); err != nil {
		return res, err
	}
	// The bottle has its copy of the cwd: cache it for the next launches
	// while this one runs.
	cached = r.fillCwd(ctx, s)
	// Every launch clears a leftover marker, so that an old approval never
	// keeps state alive past a later normal end. It is cleared only now that
	// the bottle is ready to start: a resume that fails to build or copy
	// keeps its state, and the operator can try again.
	if err := s.dir.ClearPreserved(); err != nil {
		return res, err
	}
	// From here on this Dockerfile's approval has been resumed: a watch
	// resumes an identity whose preserved Dockerfile differs from this
	// (state.ResumeReady), so one killed before here is resumed again.
	if s.meta.DockerfileHash != s.builtHash {
		s.meta.DockerfileHash = s.builtHash
		if err := s.dir.WriteMetadata(s.meta); err != nil {
			return res, err
		}
	}
	event := "launch"
	if s.resumed {
		event = "resume"
	}
	_ = s.dir.Audit(event, map[string]string{"backend": s.be.Name(), "image": spec.Image, "session_id": s.meta.SessionID})

	s.ran = true
	if opts.Detach {
		if err := s.be.Start(ctx, inst.ID); err != nil {
			return res, fmt.Errorf("start %s: %w", id, err)
		}
		res.Detached = true
		// The launch tree must be on disk before this process goes.
		_ = s.tree.wait()
		r.emit(EventDetached, id, s.bottle.Name, "")
		cached()
		return res, nil
	}
	r.emit(EventStarted, id, s.bottle.Name, "")
	code, err := s.be.Run(ctx, inst.ID, opts.IO)
	if ctx.Err() == nil && r.stoppedForRebuild(s, code) {
		res.ExitCode = code
		return res, nil
	}
	switch {
	case ctx.Err() != nil:
		res.Interrupted = true
		_ = s.dir.Audit("stop", map[string]string{"reason": "interrupted"})
		return res, nil
	case err != nil && (s.dir.IsPreserved() || s.dir.HasIntent()):
		// A capability approval tore the bottle down under us: that is
		// how a capability-block session ends, not an error.
		return res, nil
	case err != nil:
		return res, fmt.Errorf("run %s: %w", id, err)
	}
	res.ExitCode = code
	_ = s.dir.Audit("stop", map[string]string{"exit_code": fmt.Sprint(code)})
	r.emit(EventExited, id, s.bottle.Name, fmt.Sprint(code))
	return res, nil
}

// prepare resolves the image and writes metadata; it returns the Spec.
func (r *Runner) prepare(ctx context.Context, s *session, opts LaunchOptions) (*backend.Spec, error) {
	id := s.dir.Identity
	sess := config.Session{ID: s.meta.SessionID, Identity: id}
	launch, diags := s.bottle.Launch(sess)
	if diags.HasErrors() {
		return nil, &DiagnosticsError{Diags: diags}
	}
	command := launch.Command
	if s.resumed && launch.ResumeCommand != nil {
		command = launch.ResumeCommand
	}
	argv := values(command)

	progress := backend.ProgressFunc(func(line string) { r.emit(EventProgress, id, s.bottle.Name, line) })
	base, err := r.agentImage(ctx, s, progress)
	if err != nil {
		return nil, err
	}
	image := base
	if s.perBottle = s.dir.HasDockerfile(); s.perBottle {
		if image, err = r.bottleImage(ctx, s, progress); err != nil {
			return nil, err
		}
	}
	// A fresh copy of the cwd comes in an image, made once per content of
	// the folder. After an approval the agent's own workspace snapshot is
	// restored instead (restore).
	if c := s.bottle.Cwd; c != nil && c.Copy && !s.dir.HasSnapshot(state.WorkspaceDir) {
		if image, err = r.lookupCwd(ctx, s, image, progress); err != nil {
			return nil, err
		}
	}
	helper, err := helperDir(r.Home)
	if err != nil {
		return nil, err
	}
	agent := s.bottle.Agent
	env := map[string]string{}
	for k, v := range launch.Env {
		env[k] = v.Value
	}
	env["BOTTLE_IDENTITY"] = id
	env["BOTTLE_SESSION_ID"] = s.meta.SessionID
	env["BOTTLE_QUEUE"] = GuestQueue
	if s.resumed {
		env["BOTTLE_RESUMED"] = "1"
	}
	for k, v := range s.egressEnv {
		env[k] = v
	}
	spec := r.baseSpec(s)
	spec.Image, spec.Command, spec.Env = image, argv, envList(env)
	spec.Workdir, spec.User = agent.Workdir, agent.User
	spec.CPUs, spec.MemoryBytes = s.bottle.CPUs, s.bottle.MemoryBytes
	spec.Security = Security(s.bottle)
	spec.TTY, spec.OpenStdin = opts.TTY, opts.IO.Stdin != nil
	spec.Mounts = []backend.Mount{
		{Source: helper, Target: GuestRunDir, ReadOnly: true},
		{Source: s.dir.QueuePath(), Target: GuestQueue},
	}
	if c := s.bottle.Cwd; c != nil && !c.Copy {
		spec.Mounts = append(spec.Mounts, backend.Mount{Source: c.Path, Target: c.Target})
	}

	s.meta.Image, s.meta.BaseImage = image, base
	s.meta.StartedAt = time.Now().UTC()
	s.meta.Launches++
	// Recorded in metadata only once the agent starts (run).
	s.builtHash = s.dir.DockerfileHash()
	s.meta.Detached = opts.Detach
	s.meta.Spec = record(s, launch)
	if err := s.dir.WriteMetadata(s.meta); err != nil {
		return nil, err
	}
	return spec, nil
}

// baseSpec is the part of a session's Spec known before its image: what
// names and labels its resources.
func (r *Runner) baseSpec(s *session) *backend.Spec {
	return &backend.Spec{
		Identity: s.dir.Identity, Bottle: s.bottle.Name, Agent: s.bottle.Agent.Name,
		// With an egress policy the bottle's own network has no way out:
		// the proxy is its only one.
		Network: s.bottle.Network && !hasPolicy(s.bottle),
		Egress:  s.egress,
		Labels:  r.homeLabels(),
	}
}

// errNoNetwork is what the wait of prepareNetwork returns when the backend
// makes no network ahead of Create.
var errNoNetwork = errors.New("no network prepared")

// prepareNetwork starts making the session's network when the backend can
// do that ahead of Create, and returns a wait for its outcome (callable any
// number of times).
func (r *Runner) prepareNetwork(ctx context.Context, s *session) func() error {
	np, ok := s.be.(backend.NetworkPreparer)
	if !ok {
		return func() error { return errNoNetwork }
	}
	done := make(chan error, 1)
	go func() { done <- np.PrepareNetwork(ctx, *r.baseSpec(s)) }()
	return sync.OnceValue(func() error { return <-done })
}

// restore puts the workspace (copy mode) and the transcript snapshot into
// the created instance before the agent starts.
func (r *Runner) restore(ctx context.Context, s *session, instance string) error {
	// The owner is looked up only when something is copied: a named user
	// costs a read of the instance's /etc.
	var o *owner
	resolved := false
	lookupOwner := func() (*owner, error) {
		if resolved {
			return o, nil
		}
		var err error
		if o, err = resolveOwner(ctx, s.be, instance, s.bottle.Agent.User); err != nil {
			return nil, withRange(err, s.bottle.Agent.DeclRange)
		}
		resolved = true
		return o, nil
	}
	if err := noteWorkspace(s); err != nil {
		return err
	}
	if c := s.bottle.Cwd; c != nil && c.Copy && !s.cwdInImage {
		src, excludes := c.Path, c.Exclude
		if s.dir.HasSnapshot(state.WorkspaceDir) {
			// The agent's own workspace, as an approval left it, takes
			// the place of a fresh copy of the host folder.
			src, excludes = s.dir.Join(state.WorkspaceDir), nil
		}
		o, err := lookupOwner()
		if err != nil {
			return err
		}
		tap := r.tapTree(ctx, s, src == c.Path)
		if err := copyDirTap(ctx, s.be, instance, src, c.Target, excludes, o, tap); err != nil {
			return fmt.Errorf("copy %s into %s: %w", src, s.dir.Identity, err)
		}
	} else if c != nil && c.Copy && !exists(s.dir.Join(state.LaunchTreeFile)) {
		s.tree = r.recordTree(ctx, s, nil, s.cwdFP)
	}
	if t := s.bottle.Agent.Transcript; t != "" && s.dir.HasSnapshot(state.TranscriptDir) {
		o, err := lookupOwner()
		if err != nil {
			return err
		}
		if err := copyDir(ctx, s.be, instance, s.dir.Join(state.TranscriptDir), t, nil, o); err != nil {
			return fmt.Errorf("restore the transcript of %s: %w", s.dir.Identity, err)
		}
	}
	return nil
}

func values(vs []config.Value) []string {
	if vs == nil {
		return nil
	}
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = v.Value
	}
	return out
}

func envList(env map[string]string) []string {
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// record is the launch as metadata keeps it: no secret values.
func record(s *session, l *config.Launch) *state.LaunchRecord {
	rec := &state.LaunchRecord{
		Command: redact(l.Command), ResumeCommand: redact(l.ResumeCommand),
		Env: map[string]string{}, Workdir: s.bottle.Agent.Workdir, User: s.bottle.Agent.User,
		Transcript: s.bottle.Agent.Transcript, CPUs: s.bottle.CPUs, MemoryBytes: s.bottle.MemoryBytes,
	}
	for k, v := range l.Env {
		rec.Env[k] = v.String()
	}
	if c := s.bottle.Cwd; c != nil {
		rec.CwdTarget, rec.Exclude = c.Target, c.Exclude
	}
	if s.dir.HasDockerfile() {
		rec.Dockerfile = s.dir.DockerfilePath()
	}
	return rec
}

func redact(vs []config.Value) []string {
	if vs == nil {
		return nil
	}
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = v.String()
	}
	return out
}
