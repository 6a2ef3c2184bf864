// Package backend defines what runs a bottle: a backend-neutral interface and
// the types that cross it. It knows nothing of HCL or cty: runner turns the
// configuration into a Spec, and each backend (backend/docker,
// backend/smolvm) turns a Spec into engine resources.
//
// Every backend keeps the in-bottle contract of DESIGN.md: /run/bottle
// mounted read-only, /run/bottle/queue read-write, the BOTTLE_* variables in
// the environment, and the working directory fixed across launches.
package backend

import (
	"context"
	"errors"
	"io"
	"time"
)

// Names of the backends, as written in bottle.hcl and metadata.json.
const (
	Docker       = "docker"
	Smolmachines = "smolmachines"
	Kubernetes   = "kubernetes"
)

// Labels every backend puts on the resources it creates, so that Observe and
// gc can find them without any state dir.
const (
	LabelManaged  = "dev.bottle.managed"
	LabelIdentity = "dev.bottle.identity"
	LabelBottle   = "dev.bottle.bottle"
	LabelAgent    = "dev.bottle.agent"
	// LabelCwd groups the images a cwd was copied into (Deriver): one
	// value per project folder, target, user, agent image and BOTTLE_HOME.
	LabelCwd = "dev.bottle.cwd"
	// LabelCwdKey names one content of that folder: the runner holds a
	// cache lock of that name while it makes the image.
	LabelCwdKey = "dev.bottle.cwd-key"
	// LabelHome tells apart the bottles of different BOTTLE_HOMEs sharing
	// one engine, so that gc in one never removes another's.
	LabelHome = "dev.bottle.home"
	// LabelHomePath is the BOTTLE_HOME itself: gc --orphans removes what
	// a home that no longer exists left.
	LabelHomePath = "dev.bottle.home-path"
	// LabelDockerfile is the absolute path of the agent Dockerfile an
	// image was built from: gc keeps the newest image of each.
	LabelDockerfile = "dev.bottle.dockerfile"
	// LabelCwdPath is the host folder a cwd image holds a copy of: gc
	// drops the images of folders that are gone.
	LabelCwdPath = "dev.bottle.cwd-path"
)

// Errors backends map their engine's errors onto; callers test with errors.Is.
var (
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("already exists")
)

// Image says where an agent image comes from. Exactly one of Ref or
// Dockerfile is set.
type Image struct {
	// Ref is an image reference used as is, pulled only when missing.
	Ref string
	// Dockerfile is the absolute path of a Dockerfile to build, with Context
	// (an absolute directory) as its build context.
	Dockerfile string
	Context    string
	// Tag, when set, is the tag the built image gets (e.g. bottle/<identity>
	// for a per-bottle Dockerfile). When empty the builder tags by content
	// hash so that an unchanged Dockerfile and context are not rebuilt.
	Tag string
	// Labels are put on a built image (e.g. backend.LabelHome on a
	// per-bottle image), besides the ones the backend adds itself.
	Labels map[string]string
}

// Owner is a numeric user and group inside a bottle.
type Owner struct {
	UID, GID int
}

// Mount is a host directory made visible inside a bottle.
type Mount struct {
	Source   string // absolute host path
	Target   string // absolute guest path
	ReadOnly bool
}

// Spec is everything a backend needs to create one bottle. It is plain data:
// no secrets are logged from it, and it is never written to disk with its Env
// values.
type Spec struct {
	Identity string
	Bottle   string
	Agent    string
	// Image is the resolved image reference (EnsureImage's result).
	Image string
	// Command is the agent's argv, run as the bottle's main process.
	Command []string
	// Env is KEY=VALUE, sorted; it includes the BOTTLE_* contract variables.
	Env     []string
	Workdir string
	User    string
	// CPUs is a fractional CPU limit; 0 means no limit.
	CPUs float64
	// MemoryBytes is a memory limit; 0 means no limit.
	MemoryBytes int64
	// Mounts are bind mounts: the /run/bottle helper dir, its queue, and the
	// cwd when it is not copied.
	Mounts []Mount
	// Network gives the bottle outbound network access.
	Network bool
	// Security is the bottle's hardening (security.go).
	Security Security
	// Egress, when set, confines Network to its allowlist (egress.go).
	Egress *EgressSpec
	// TTY allocates a terminal for the agent (attached runs from a terminal).
	TTY bool
	// OpenStdin keeps the agent's stdin open for an attached run.
	OpenStdin bool
	// Labels are extra labels; backends always add the LabelManaged,
	// LabelIdentity, LabelBottle and LabelAgent ones from the fields above.
	Labels map[string]string
}

// State is the lifecycle state of an instance as the engine reports it.
type State string

// Instance states.
const (
	StateCreated State = "created"
	StateRunning State = "running"
	StateExited  State = "exited"
)

// Instance is one bottle as the engine sees it.
type Instance struct {
	// ID is the backend's handle (a container ID, a machine name).
	ID       string
	Name     string
	Identity string
	Bottle   string
	Agent    string
	Image    string
	State    State
	// ExitCode is meaningful when State is StateExited.
	ExitCode  int
	CreatedAt time.Time
	Labels    map[string]string
}

// IO is where an attached agent's streams go. A nil Stdin means no input.
type IO struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// Resize, when non-nil, delivers terminal sizes for a TTY run.
	Resize <-chan TermSize
}

// TermSize is a terminal's size in cells.
type TermSize struct {
	Rows, Cols uint16
}

// ExecSpec is a command run inside a running instance, beside the agent.
// No Backend method takes one: the runner never runs anything in a bottle
// but its agent. Backends that can (all of them today) have an Exec method
// of their own, which docker uses to ask its egress proxy, and the
// conformance suite holds every backend's to one contract
// (backendtest.Execer).
type ExecSpec struct {
	Argv    []string
	Env     []string
	Workdir string
	Stdin   io.Reader
	Stdout  io.Writer
	Stderr  io.Writer
}

// Progress receives human-readable progress lines (image pulls, builds).
type Progress interface {
	Progress(line string)
}

// ProgressFunc adapts a function to Progress.
type ProgressFunc func(line string)

// Progress calls f.
func (f ProgressFunc) Progress(line string) {
	if f != nil {
		f(line)
	}
}

// Backend runs bottles. Every method takes a context and returns errors that
// wrap ErrNotFound or ErrConflict where those apply.
//
// The lifecycle of one bottle is: EnsureImage, Create (the instance exists and
// accepts CopyIn, the agent is not running yet), CopyIn of the workspace and
// transcript, then Run (attached) or Start (detached; Inspect says when the
// agent has ended), and finally Remove, which deletes every resource of the
// identity.
type Backend interface {
	// Name is the backend's name as written in metadata ("docker", "smolmachines").
	Name() string
	// Ping checks that the engine answers.
	Ping(ctx context.Context) error
	// EnsureImage builds or pulls img and returns the reference to create
	// instances from.
	EnsureImage(ctx context.Context, img Image, p Progress) (string, error)
	// Create makes the instance for spec without starting the agent.
	Create(ctx context.Context, spec Spec) (Instance, error)
	// CopyIn extracts the tar stream r at the absolute directory dst inside
	// the instance. The directories it creates for dst (dst and its missing
	// parents) belong to owner, so that a non-root agent can write at the
	// top of a workspace the image lacked; with a nil owner they are owned
	// like their nearest existing ancestor.
	CopyIn(ctx context.Context, id, dst string, r io.Reader, owner *Owner) error
	// CopyOut writes a tar stream of the contents of the directory src inside
	// the instance to w (entries relative to src). The instance may be
	// running or stopped.
	CopyOut(ctx context.Context, id, src string, w io.Writer) error
	// Run starts the agent attached to io and waits for it to end; it
	// returns the agent's exit code. Cancelling ctx detaches without
	// stopping the agent.
	Run(ctx context.Context, id string, io IO) (int, error)
	// Start starts the agent detached.
	Start(ctx context.Context, id string) error
	// Logs writes what the agent printed to w; with follow it keeps
	// streaming until the agent ends or ctx is done.
	Logs(ctx context.Context, id string, follow bool, w io.Writer) error
	// Inspect returns the instance's current state.
	Inspect(ctx context.Context, id string) (Instance, error)
	// Halt ends the agent and keeps the instance, so that what it wrote
	// can still be copied out (an approval snapshots it so); halting an
	// instance whose agent has ended is not an error. It is not `bottle
	// stop`, which tears the bottle down and keeps its state dir.
	Halt(ctx context.Context, id string) error
	// Remove deletes the instance and every resource created for its
	// identity (network, per-run files). A missing instance is not an error.
	Remove(ctx context.Context, id string) error
	// List returns the managed instances whose labels include all of match.
	List(ctx context.Context, match map[string]string) ([]Instance, error)
	// Leftovers lists labelled resources other than instances (networks,
	// per-bottle images) with the identity that owns each; gc removes those
	// whose identity has no state dir.
	Leftovers(ctx context.Context) ([]Resource, error)
	// RemoveResource deletes one leftover.
	RemoveResource(ctx context.Context, r Resource) error
}

// NetworkPreparer is implemented by backends whose Create also makes the
// bottle's network. PrepareNetwork makes it ahead of Create, from the
// spec's Identity, Bottle, Agent, Network and Labels only, so that the
// runner can overlap it with building the image; Create then adopts it, and
// Remove removes it even when no instance was created.
type NetworkPreparer interface {
	PrepareNetwork(ctx context.Context, spec Spec) error
}

// HaltedReader is implemented by backends whose CopyOut reads a halted
// instance as it was left, without running anything in it (docker). An
// approval halts such a bottle before its snapshot, so that the snapshot
// sees the agent's last write whole. A backend that must boot an instance
// again to read it (smolvm) is snapshotted running.
type HaltedReader interface {
	ReadsHalted() bool
}

// QueueSyncer is implemented by backends whose bottles hold their own copy
// of the queue, because the engine cannot mount the host's directory
// (kubernetes). SyncQueue copies the requests the agent filed in instance
// id into the host queue hostDir (the Source of the instance's queue
// mount), and the answers found there back into the instance, once. The
// bottle is hostile: the backend confines names, skips links and bounds
// sizes; the host still validates every request (state.Dir.Intake). A
// missing instance wraps ErrNotFound.
type QueueSyncer interface {
	SyncQueue(ctx context.Context, id, hostDir string) (QueueSync, error)
}

// QueueSync is what one SyncQueue did.
type QueueSync struct {
	// Copied counts the files copied either way.
	Copied int
	// Ended is set when the agent has ended: nothing more will be filed.
	Ended bool
}

// Derivation asks for an image made of another plus files: see Deriver.
type Derivation struct {
	// Base is the image to derive from.
	Base string
	// Ref is the tag of the derived image; it names its content, so an
	// existing Ref derived from the current Base is reused as it is.
	Ref string
	// Labels go on the derived image (LabelManaged is always added).
	Labels map[string]string
	// Supersedes selects the images Ref replaces: once Ref is made, the
	// other images carrying all of these labels are removed, unless an
	// instance still uses them.
	Supersedes map[string]string
}

// Deriver is implemented by backends that can save files added to an image
// as an image of their own, so that an unchanged cwd is copied once and
// every later bottle starts from it.
type Deriver interface {
	// Derived reports whether ref exists and was derived from the image
	// base names now.
	Derived(ctx context.Context, base, ref string) (bool, error)
	// Derive returns d.Ref, and whether it was reused. Unless Ref exists
	// and was derived from the image Base names now, it creates a scratch
	// instance of Base (never started, without the bottle's environment),
	// calls fill with its ID for CopyIn and CopyOut, and saves its
	// filesystem as Ref with Base's configuration.
	Derive(ctx context.Context, d Derivation, fill func(ctx context.Context, instance string) error) (ref string, reused bool, err error)
}

// RemoteImageLister is implemented by backends that push the per-bottle
// images they build to a registry (kubernetes). RemoteLeftovers lists them
// there as Resources that RemoveResource removes; gc judges them as it does
// Leftovers. It is apart from Leftovers, which every teardown calls, since
// listing a registry costs requests in proportion to its size.
type RemoteImageLister interface {
	RemoteLeftovers(ctx context.Context) ([]Resource, error)
}

// ImageLister is implemented by backends that keep the images bottle
// builds (agent, cwd and per-bottle images), so that gc can drop the
// superseded ones.
type ImageLister interface {
	// Images lists the images carrying LabelManaged.
	Images(ctx context.Context) ([]ImageInfo, error)
}

// ImageInfo is one managed image as ImageLister sees it.
type ImageInfo struct {
	ID      string
	Tags    []string // repository:tag; none for a dangling image
	Labels  map[string]string
	Created time.Time
	// InUse is set when any container, running or not, was made from it.
	InUse bool
}

// PathChange is one path an instance changed in its own filesystem
// since it was created from its image.
type PathChange struct {
	// Path is relative to the directory asked about.
	Path    string
	Added   bool
	Deleted bool
}

// Differ is implemented by backends that can tell which paths of an
// instance changed since it was created from its image without reading
// them, and copy only those out: a workspace that came with the image is
// then compared with its launch tree at the cost of what the agent
// touched, not of the whole tree. The instance may be stopped.
type Differ interface {
	// Changed lists the changes under the absolute directory dir.
	Changed(ctx context.Context, id, dir string) ([]PathChange, error)
	// CopyOutPaths writes a tar stream of the paths (relative to dir, a
	// directory with its contents) to w, with names relative to dir.
	CopyOutPaths(ctx context.Context, id, dir string, paths []string, w io.Writer) error
}

// Resource is a labelled engine resource that is not an instance.
type Resource struct {
	Kind     string // "network", "image", "machine", "container"
	ID       string
	Name     string
	Identity string
	Labels   map[string]string
}

// InstanceName is the name every backend gives the instance of an identity.
func InstanceName(identity string) string {
	return "bottle-" + identity
}
