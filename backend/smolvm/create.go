package smolvm

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/bottle-dev/bottle/backend"
)

// minMemMiB is the smallest --mem smolvm accepts; maxCPUs the largest
// --cpus (an unsigned byte in smolvm 1.9.x; more is a usage error).
const (
	minMemMiB = 64
	maxCPUs   = 255
)

// Create makes machine bottle-<identity> for spec and starts it, running
// only the inert workload `sleep infinity`, so that CopyIn works at once;
// the agent is not started. A locally available image is handed over as a
// `docker save` archive on stdin (--image -): no registry is needed.
func (b *Backend) Create(ctx context.Context, spec backend.Spec) (backend.Instance, error) {
	name := backend.InstanceName(spec.Identity)
	if spec.Identity == "" || !validName(name) {
		return backend.Instance{}, fmt.Errorf("smolvm backend: identity %q does not make a valid machine name", spec.Identity)
	}
	if len(spec.Command) == 0 {
		return backend.Instance{}, errors.New("smolvm backend: spec has no command")
	}
	args, err := createArgs(name, spec)
	if err != nil {
		return backend.Instance{}, err
	}
	imgArgs, stdin, saveDone, err := b.handOver(ctx, spec)
	if err != nil {
		return backend.Instance{}, err
	}
	args = append(append(args, imgArgs...), "--", "sleep", "infinity")
	_, err = b.must(ctx, call{args: args, stdin: stdin})
	saveErr := saveDone()
	if err != nil {
		if saveErr != nil && !errors.Is(err, backend.ErrConflict) {
			return backend.Instance{}, fmt.Errorf("hand image %s over to smolvm: %w (smolvm: %v)", spec.Image, saveErr, err)
		}
		return backend.Instance{}, err
	}
	inst, err := b.bootNew(ctx, name, spec, saveErr)
	if err != nil {
		// The machine exists but is unusable: remove it so that a retry of
		// the same identity does not hit "already exists".
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		return backend.Instance{}, errors.Join(err, b.Remove(cctx, name))
	}
	return inst, nil
}

// bootNew starts a freshly created machine and installs the launcher.
func (b *Backend) bootNew(ctx context.Context, name string, spec backend.Spec, saveErr error) (backend.Instance, error) {
	if saveErr != nil {
		return backend.Instance{}, fmt.Errorf("hand image %s over to smolvm: %w", spec.Image, saveErr)
	}
	if err := b.resetHost(name); err != nil {
		return backend.Instance{}, err
	}
	if _, err := b.must(ctx, call{args: []string{"machine", "start", "--name", name}}); err != nil {
		return backend.Instance{}, err
	}
	_, err := b.must(ctx, call{args: []string{"machine", "exec", "--name", name, "-i", "--",
		"sh", "-c", installSh, "bottle-install"}, stdin: strings.NewReader(launcher(spec.Command, spec.User))})
	if err != nil {
		return backend.Instance{}, fmt.Errorf("install the agent launcher: %w", err)
	}
	m, err := b.status(ctx, name)
	if err != nil {
		return backend.Instance{}, err
	}
	// The launcher was just installed and no agent ran: no need to ask.
	m.State = "created"
	return b.instance(ctx, m)
}

// createArgs is `machine create` up to the image: name, labels, resources,
// network, env, workdir and mounts. Options all come before "--".
func createArgs(name string, spec backend.Spec) ([]string, error) {
	labels := map[string]string{}
	maps.Copy(labels, spec.Labels)
	maps.Copy(labels, map[string]string{
		backend.LabelManaged:  "true",
		backend.LabelIdentity: spec.Identity,
		backend.LabelBottle:   spec.Bottle,
		backend.LabelAgent:    spec.Agent,
		labelImage:            spec.Image,
	})
	if spec.TTY {
		labels[labelTTY] = "true"
	}
	args := []string{"machine", "create", "--name", name}
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		if strings.ContainsAny(k, "=\n") || strings.Contains(labels[k], "\n") {
			return nil, fmt.Errorf("smolvm backend: label %q cannot be passed as --label KEY=VALUE", k)
		}
		args = append(args, "--label", k+"="+labels[k])
	}
	if spec.CPUs > 0 {
		// The config refuses more at plan; this guards other callers.
		if spec.CPUs > maxCPUs {
			return nil, fmt.Errorf("smolvm backend: %g CPUs asked, but smolvm gives a machine at most %d (its --cpus is one byte): lower cpus", spec.CPUs, maxCPUs)
		}
		args = append(args, "--cpus", strconv.Itoa(int(math.Ceil(spec.CPUs))))
	}
	if spec.MemoryBytes > 0 {
		mib := max((spec.MemoryBytes+(1<<20)-1)>>20, minMemMiB)
		args = append(args, "--mem", strconv.FormatInt(mib, 10))
	}
	net, err := networkArgs(spec)
	if err != nil {
		return nil, err
	}
	args = append(args, net...)
	for _, e := range spec.Env {
		if k, _, ok := strings.Cut(e, "="); !ok || k == "" {
			return nil, fmt.Errorf("smolvm backend: env entry for %q is not KEY=VALUE", k)
		}
		args = append(args, "-e", e)
	}
	if spec.Workdir != "" {
		if !path.IsAbs(spec.Workdir) {
			return nil, fmt.Errorf("smolvm backend: workdir %q is not absolute", spec.Workdir)
		}
		args = append(args, "-w", spec.Workdir)
	}
	for _, m := range spec.Mounts {
		// virtiofs shares directories only; say so before smolvm does.
		if st, err := os.Stat(m.Source); err != nil || !st.IsDir() {
			return nil, fmt.Errorf("smolvm backend: mount source %s must be an existing directory", m.Source)
		}
		if !path.IsAbs(m.Target) || strings.Contains(m.Source+m.Target, ":") {
			return nil, fmt.Errorf("smolvm backend: cannot mount %s at %s", m.Source, m.Target)
		}
		v := m.Source + ":" + m.Target
		if m.ReadOnly {
			v += ":ro"
		}
		args = append(args, "-v", v)
	}
	return args, nil
}

// isLocalRef is smolvm's rule for a local image source (reference §3.1).
func isLocalRef(ref string) bool {
	return ref == "-" || strings.HasPrefix(ref, "/") || strings.HasPrefix(ref, "./") ||
		strings.HasPrefix(ref, "../") || strings.HasSuffix(ref, ".tar") ||
		strings.HasSuffix(ref, ".tar.gz") || strings.HasSuffix(ref, ".tgz")
}

// handOver decides the --image argument. An image the image source can
// save is streamed as a `docker save` archive on stdin; one it cannot (not
// in the local engine) is passed as a registry ref, which smolvm pulls in
// the guest and therefore refuses without network. done waits for the
// saver and returns its error.
func (b *Backend) handOver(ctx context.Context, spec backend.Spec) (args []string, stdin io.Reader, done func() error, err error) {
	ref := spec.Image
	none := func() error { return nil }
	switch {
	case ref == "":
		return nil, nil, none, errors.New("smolvm backend: spec has no image")
	case isLocalRef(ref) && ref != "-":
		return []string{"--image", ref}, nil, none, nil
	case b.images == nil:
		return []string{"--image", ref}, nil, none, nil
	}
	sctx, cancel := context.WithCancel(ctx)
	pr, pw := io.Pipe()
	errc := make(chan error, 1)
	go func() {
		err := b.images.SaveImage(sctx, ref, pw)
		pw.CloseWithError(err)
		errc <- err
	}()
	br := bufio.NewReaderSize(pr, 64<<10)
	if _, perr := br.Peek(1); perr != nil {
		// Nothing came out: the image is not local.
		saveErr := <-errc
		cancel()
		if saveErr == nil {
			saveErr = fmt.Errorf("empty archive: %w", perr)
		}
		if !spec.Network || spec.Egress != nil && len(spec.Egress.Policy.Allow) == 0 {
			return nil, nil, none, fmt.Errorf("smolvm backend: image %s is not in the local Docker engine (%v), "+
				"and smolvm could only pull it with network, which this bottle does not have", ref, saveErr)
		}
		return []string{"--image", ref}, nil, none, nil
	}
	done = func() error {
		// smolvm read the archive or gave up: unblock a saver still writing.
		pr.CloseWithError(errors.New("smolvm stopped reading the image archive"))
		err := <-errc
		cancel()
		return err
	}
	return []string{"--image", "-"}, br, done, nil
}
