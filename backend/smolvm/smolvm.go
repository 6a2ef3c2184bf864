package smolvm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/bottle-dev/bottle/backend"
)

// ImageSource builds or finds images in a Docker engine and exports them as
// `docker save` archives. (*docker.Backend) satisfies it; smolvm never
// imports backend/docker, so the caller wires the two together. Its
// Leftovers and RemoveResource report and remove the per-bottle images it
// built for smolvm bottles, which smolvm's own Leftovers passes on.
type ImageSource interface {
	EnsureImage(ctx context.Context, img backend.Image, p backend.Progress) (string, error)
	SaveImage(ctx context.Context, ref string, w io.Writer) error
	Leftovers(ctx context.Context) ([]backend.Resource, error)
	RemoveResource(ctx context.Context, r backend.Resource) error
}

// Options configures New.
type Options struct {
	// Binary is the smolvm executable: a path, or a name looked up on PATH.
	// Default: $BOTTLE_SMOLVM, else "smolvm".
	Binary string
	// Images builds Dockerfile agents and hands local images over as
	// archives. Without it only registry refs work, and those need network.
	Images ImageSource
	// DataDir holds the host-side files of each identity (the log and exit
	// code of attached runs) in DataDir/<identity>/. Default: the user cache
	// dir's bottle/smolvm.
	DataDir string
	// Env is KEY=VALUE pairs added to the environment of every smolvm
	// process (e.g. SMOLVM_DATA_DIR).
	Env []string
	// PollInterval paces Logs -f, which polls the guest. Default 500ms.
	PollInterval time.Duration
}

// Backend runs bottles as smolvm machines through the smolvm CLI. It keeps
// no state of its own in memory (smolvm, the guest and DataDir hold it), so
// one Backend may be used from several goroutines and processes at once.
type Backend struct {
	bin     string
	images  ImageSource
	dataDir string
	env     []string
	poll    time.Duration
}

var _ backend.Backend = (*Backend)(nil)

// New returns a Backend. It does not run smolvm: Ping does.
func New(opts Options) (*Backend, error) {
	b := &Backend{bin: opts.Binary, images: opts.Images, dataDir: opts.DataDir,
		env: append([]string(nil), opts.Env...), poll: opts.PollInterval}
	if b.bin == "" {
		b.bin = os.Getenv("BOTTLE_SMOLVM")
	}
	if b.bin == "" {
		b.bin = "smolvm"
	}
	if b.dataDir == "" {
		cache, err := os.UserCacheDir()
		if err != nil {
			return nil, fmt.Errorf("smolvm backend: no DataDir given and no user cache dir: %w", err)
		}
		b.dataDir = filepath.Join(cache, "bottle", "smolvm")
	}
	if b.poll <= 0 {
		b.poll = 500 * time.Millisecond
	}
	return b, nil
}

// Name returns backend.Smolmachines.
func (b *Backend) Name() string { return backend.Smolmachines }

var versionRE = regexp.MustCompile(`^smolvm (\d+)\.(\d+)\.(\d+)\S*\s*$`)

// Ping runs `smolvm --version` and checks that it answers like smolvm.
func (b *Backend) Ping(ctx context.Context) error {
	res, err := b.must(ctx, call{args: []string{"--version"}})
	if err != nil {
		return err
	}
	if !versionRE.Match(res.stdout) {
		return fmt.Errorf("%s --version printed %q, not \"smolvm X.Y.Z\"", b.bin, capString(string(res.stdout), 200))
	}
	return nil
}

// EnsureImage builds or finds img with the image source. Without one, a
// Ref is passed through (smolvm pulls it in the guest, which needs network)
// and a Dockerfile is an error.
func (b *Backend) EnsureImage(ctx context.Context, img backend.Image, p backend.Progress) (string, error) {
	if b.images != nil {
		return b.images.EnsureImage(ctx, img, p)
	}
	if img.Ref != "" {
		return img.Ref, nil
	}
	return "", errors.New("smolvm backend: building a Dockerfile needs a Docker engine as image source")
}

// nameRE is smolvm's machine-name rule (no trailing '-' and no "--" are
// checked in validName). Every id is checked before it reaches the CLI, so
// no value can be mistaken for an option.
var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$`)

func validName(name string) bool {
	return nameRE.MatchString(name) && !strings.HasSuffix(name, "-") && !strings.Contains(name, "--")
}

// checkID validates a machine name given as an instance ID; a name smolvm
// would refuse cannot exist, so it reads as not found.
func checkID(id string) error {
	if !validName(id) {
		return fmt.Errorf("smolvm machine %q: invalid machine name: %w", id, backend.ErrNotFound)
	}
	return nil
}
