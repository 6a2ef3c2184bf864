package kubernetes

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/bottle-dev/bottle/backend"
)

// Bounds of one queue sync. The host's own checks (state.Dir.Intake) allow
// requests of 64 KiB and 32 pending ones; these only keep a hostile bottle
// from making a sync cost more than a few MiB.
const (
	// queueMaxFiles is how many queue files one sync reads from the Pod
	// (and how many answers it pushes), in name order.
	queueMaxFiles = 256
	// queueMaxFile is how much of one file is copied: a longer one arrives
	// cut at this size, which the host rejects as over its own limit.
	queueMaxFile = 1 << 20
	// queueMaxBytes bounds the whole tar stream read from the Pod.
	queueMaxBytes = 16 << 20
	// queueSyncTimeout bounds one sync: a bottle cannot hold it up.
	queueSyncTimeout = 30 * time.Second
	answerSuffix     = ".answer.json"
)

// queueName is a request (<id>.json) or an answer (<id>.answer.json), with
// the host's request id syntax. Nothing else in the queue is copied.
var queueName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,63}(\.answer)?\.json$`)

// queueSh writes a tar of the queue's request and answer files ($1) to
// stdout: regular files named *.json, no links, no dot files, at most
// queueMaxFiles in name order; nothing at all for an empty queue. Only
// shell built-ins and tar run.
const queueSh = `cd "$1" 2>/dev/null || { echo "no such directory: $1" >&2; exit 44; }
set --
for f in *.json; do
  [ -f "$f" ] && [ ! -h "$f" ] || continue
  [ $# -lt 256 ] || break
  set -- "$@" "$f"
done
[ $# -gt 0 ] || exit 0
exec tar -cf - -- "$@"`

// queueFile is one file of the queue.
type queueFile struct {
	data []byte
	mod  time.Time
}

// SyncQueue mirrors the queue of bottle id once (backend.QueueSyncer):
// requests the agent wrote or changed in the Pod are written into hostDir,
// and the answers in hostDir that the Pod lacks (or holds changed) are
// written into the Pod. Deletions are not mirrored either way, so an answer
// the agent deletes comes back. A Pod whose agent container is gone has
// nothing to read: it reports Ended and copies nothing.
func (b *Backend) SyncQueue(ctx context.Context, id, hostDir string) (backend.QueueSync, error) {
	p, err := b.pod(ctx, id)
	if err != nil {
		return backend.QueueSync{}, err
	}
	target := ""
	for _, m := range mountsOf(p) {
		if !m.ReadOnly && filepath.Clean(m.Source) == filepath.Clean(hostDir) {
			target = m.Target
		}
	}
	if target == "" {
		return backend.QueueSync{}, fmt.Errorf("sync the queue of %s: the pod has no read-write mount of %s", id, hostDir)
	}
	st, _ := stateOf(p)
	res := backend.QueueSync{Ended: st == backend.StateExited}
	if !agentContainerRunning(p) {
		return res, nil
	}
	ctx, cancel := context.WithTimeout(ctx, queueSyncTimeout)
	defer cancel()
	inPod, err := b.readQueue(ctx, id, target)
	if err != nil {
		return res, fmt.Errorf("sync the queue of %s: %w", id, err)
	}
	root, err := os.OpenRoot(hostDir)
	if err != nil {
		return res, fmt.Errorf("sync the queue of %s: %w", id, err)
	}
	defer root.Close()
	n, err := pullRequests(root, inPod)
	res.Copied += n
	if err != nil {
		return res, fmt.Errorf("sync the queue of %s into %s: %w", id, hostDir, err)
	}
	push, n, err := answersToPush(root, inPod)
	if err != nil {
		return res, fmt.Errorf("sync the answers of %s from %s: %w", id, hostDir, err)
	}
	if n > 0 {
		if err := b.copyIn(ctx, id, agentContainer, target, push, nil); err != nil {
			return res, fmt.Errorf("sync the answers of %s: %w", id, err)
		}
		res.Copied += n
	}
	return res, nil
}

func agentContainerRunning(p *corev1.Pod) bool {
	for _, cs := range p.Status.ContainerStatuses {
		if cs.Name == agentContainer {
			return cs.State.Running != nil
		}
	}
	return false
}

// readQueue reads the queue's files from the Pod.
func (b *Backend) readQueue(ctx context.Context, id, target string) (map[string]queueFile, error) {
	var out bytes.Buffer
	var stderr limitedBuffer
	lim := &limitedWriter{w: &out, n: queueMaxBytes}
	code, err := b.exec(ctx, id, agentContainer, []string{"/bin/sh", "-c", queueSh, "bottle-queue", target}, streams{stdout: lim, stderr: &stderr})
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", target, err)
	}
	if code != 0 {
		return nil, fmt.Errorf("read %s: exit %d: %s", target, code, strings.TrimSpace(stderr.String()))
	}
	return parseQueueTar(&out)
}

// parseQueueTar reads the queue files of a tar stream from the bottle:
// regular files at the top level with a queueName, each cut at
// queueMaxFile bytes, at most queueMaxFiles of them. Everything else (links,
// directories, devices, other names, paths) is skipped.
func parseQueueTar(r io.Reader) (map[string]queueFile, error) {
	files := map[string]queueFile{}
	tr := tar.NewReader(r)
	for len(files) < queueMaxFiles {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read the bottle's tar: %w", err)
		}
		name := strings.TrimPrefix(hdr.Name, "./")
		if hdr.Typeflag != tar.TypeReg || !queueName.MatchString(name) {
			continue
		}
		data, err := io.ReadAll(io.LimitReader(tr, queueMaxFile))
		if err != nil {
			return nil, fmt.Errorf("read the bottle's tar: %s: %w", name, err)
		}
		files[name] = queueFile{data: data, mod: hdr.ModTime}
	}
	return files, nil
}

// pullRequests writes the requests of inPod that root lacks or holds with
// other content, each atomically (a temporary dot name, which the host's
// intake skips, then a rename over whatever is at the name).
func pullRequests(root *os.Root, inPod map[string]queueFile) (int, error) {
	n := 0
	for _, name := range sortedNames(inPod) {
		if strings.HasSuffix(name, answerSuffix) {
			continue // answers are the host's: never taken from the bottle
		}
		f := inPod[name]
		if cur, ok := readQueueFile(root, name); ok && bytes.Equal(cur, f.data) {
			continue
		}
		if err := writeQueueFile(root, name, f); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// answersToPush is a tar of the answers in root that inPod lacks or holds
// with other content, and how many it holds.
func answersToPush(root *os.Root, inPod map[string]queueFile) (io.Reader, int, error) {
	dir, err := root.Open(".")
	if err != nil {
		return nil, 0, err
	}
	names, err := dir.Readdirnames(16384)
	_ = dir.Close()
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, 0, err
	}
	sort.Strings(names)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	n := 0
	for _, name := range names {
		if n >= queueMaxFiles {
			break
		}
		if !strings.HasSuffix(name, answerSuffix) || !queueName.MatchString(name) {
			continue
		}
		data, ok := readQueueFile(root, name)
		if !ok {
			continue
		}
		if f, ok := inPod[name]; ok && bytes.Equal(f.data, data) {
			continue
		}
		if err := tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(data)), ModTime: time.Now()}); err != nil {
			return nil, 0, err
		}
		if _, err := tw.Write(data); err != nil {
			return nil, 0, err
		}
		n++
	}
	if err := tw.Close(); err != nil {
		return nil, 0, err
	}
	return &buf, n, nil
}

// readQueueFile reads a regular file of the host queue without following
// a link, up to queueMaxFile bytes; ok is false for anything else.
func readQueueFile(root *os.Root, name string) ([]byte, bool) {
	f, err := root.OpenFile(name, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, false
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		return nil, false
	}
	data, err := io.ReadAll(io.LimitReader(f, queueMaxFile))
	return data, err == nil
}

func writeQueueFile(root *os.Root, name string, f queueFile) error {
	var rnd [8]byte
	_, _ = rand.Read(rnd[:]) // crypto/rand.Read never fails
	tmp := ".bottle-sync-" + hex.EncodeToString(rnd[:])
	w, err := root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	_, err = w.Write(f.data)
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err == nil && !f.mod.IsZero() {
		// The host freezes new requests oldest first.
		err = root.Chtimes(tmp, f.mod, f.mod)
	}
	if err == nil {
		err = root.Rename(tmp, name)
	}
	if err != nil {
		_ = root.Remove(tmp)
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
}

func sortedNames(m map[string]queueFile) []string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
