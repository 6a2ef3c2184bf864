package kubernetes

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/bottle-dev/bottle/backend"
)

// mirrorInterval paces the live mirror of read-write mounts: a request the
// agent files is on the host within about this long (plus one exec round
// trip), and an answer the host writes is in the Pod as soon.
const mirrorInterval = time.Second

// mirror keeps a Pod's read-write mounts (the queue) and their host
// directories in step while the agent runs, the way a bind mount would on
// one machine: what the agent writes appears on the host, what the host
// writes appears in the Pod. It copies a file only when its content is new
// to the mirror, so a file the host removed (a rejected request) is not
// brought back until the agent writes it again. Deletions are not mirrored.
type mirror struct {
	b      *Backend
	id     string
	mounts []backend.Mount
	seen   map[string][32]byte // mount target + "/" + name -> content hash
}

func newMirror(b *Backend, id string, mounts []backend.Mount) *mirror {
	m := &mirror{b: b, id: id, seen: map[string][32]byte{}}
	for _, mt := range mounts {
		if !mt.ReadOnly {
			m.mounts = append(m.mounts, mt)
		}
	}
	return m
}

// run syncs every mirrorInterval until ctx ends. Errors are retried at the
// next tick: the Pod may be going away.
func (m *mirror) run(ctx context.Context) {
	if len(m.mounts) == 0 {
		return
	}
	t := time.NewTicker(mirrorInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			_ = m.sync(ctx)
		}
	}
}

// finish syncs once more after the agent ended, when its container (whose
// gate outlives the agent) can still be reached.
func (m *mirror) finish(ctx context.Context, p *corev1.Pod) error {
	for _, cs := range p.Status.ContainerStatuses {
		if cs.Name == agentContainer && cs.State.Running == nil {
			return nil
		}
	}
	return m.sync(ctx)
}

// sync pulls then pushes each read-write mount once.
func (m *mirror) sync(ctx context.Context) error {
	var errs []error
	for _, mt := range m.mounts {
		inPod, err := m.pull(ctx, mt)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if err := m.push(ctx, mt, inPod); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// pull copies the files of the mount that are new or changed in the Pod to
// the host, through the same confinement and limits as extractInto.
func (m *mirror) pull(ctx context.Context, mt backend.Mount) (map[string]bool, error) {
	var out bytes.Buffer
	lim := &limitedWriter{w: &out, n: defaultLimits.bytes}
	var stderr limitedBuffer
	code, err := m.b.exec(ctx, m.id, agentContainer, []string{"/bin/sh", "-c", copyOutSh, "bottle-mirror", mt.Target}, streams{stdout: lim, stderr: &stderr})
	if err != nil {
		return nil, fmt.Errorf("mirror %s: %w", mt.Target, err)
	}
	if code != 0 {
		return nil, fmt.Errorf("mirror %s: tar exited %d: %s", mt.Target, code, strings.TrimSpace(stderr.String()))
	}
	inPod := map[string]bool{}
	var fresh bytes.Buffer
	tw := tar.NewWriter(&fresh)
	tr := tar.NewReader(&out)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("mirror %s: read the bottle's tar: %w", mt.Target, err)
		}
		name, ok := cleanName(hdr.Name)
		if !ok || hdr.Typeflag != tar.TypeReg {
			continue
		}
		inPod[name] = true
		body, err := io.ReadAll(io.LimitReader(tr, defaultLimits.file+1))
		if err != nil {
			return nil, err
		}
		sum := sha256.Sum256(body)
		key := mt.Target + "/" + name
		if prev, ok := m.seen[key]; ok && prev == sum {
			continue
		}
		m.seen[key] = sum
		hdr.Name = name
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, err
		}
		if _, err := tw.Write(body); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := extractInto(mt.Source, &fresh, defaultLimits); err != nil {
		return nil, fmt.Errorf("mirror %s to %s: %w", mt.Target, mt.Source, err)
	}
	return inPod, nil
}

// push copies the host's regular files that the Pod lacks, or that changed
// on the host since the mirror last saw them, into the Pod.
func (m *mirror) push(ctx context.Context, mt backend.Mount, inPod map[string]bool) error {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	n := 0
	err := filepath.WalkDir(mt.Source, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		rel, err := filepath.Rel(mt.Source, p)
		if err != nil || strings.HasPrefix(filepath.Base(rel), ".bottle-sync-") {
			return err
		}
		rel = filepath.ToSlash(rel)
		body, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		key := mt.Target + "/" + rel
		// Unchanged since the mirror last saw it: either still in the
		// Pod, or removed there (deletions are not mirrored).
		if prev, ok := m.seen[key]; ok && prev == sum {
			return nil
		}
		m.seen[key] = sum
		n++
		info, err := d.Info()
		if err != nil {
			return err
		}
		if err := tw.WriteHeader(&tar.Header{Name: rel, Typeflag: tar.TypeReg, Mode: int64(info.Mode().Perm()), Size: int64(len(body)), ModTime: info.ModTime()}); err != nil {
			return err
		}
		_, err = tw.Write(body)
		return err
	})
	if err != nil {
		return fmt.Errorf("mirror %s to the bottle: %w", mt.Source, err)
	}
	if n == 0 {
		return nil
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return m.b.copyIn(ctx, m.id, agentContainer, mt.Target, &buf, nil)
}

// limitedWriter fails once more than n bytes were written.
type limitedWriter struct {
	w     io.Writer
	n     int64
	total int64 // the limit, for the message; 0: n as first given
}

func (l *limitedWriter) Write(p []byte) (int, error) {
	if l.total == 0 {
		l.total = l.n
	}
	if int64(len(p)) > l.n {
		return 0, fmt.Errorf("more than %d bytes in all", l.total)
	}
	l.n -= int64(len(p))
	return l.w.Write(p)
}
