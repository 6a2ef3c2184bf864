package state

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sort"
	"strings"
	"syscall"
	"time"
)

// maxQueueEntries bounds how many queue entries one scan looks at, so that a
// flooded queue cannot stall the host.
const maxQueueEntries = 4096

const answerSuffix = ".answer.json"

// Rejection is a request the host refused without asking the operator.
type Rejection struct {
	ID     string
	Reason string
}

// QueuePath is the host path of the queue mounted into the bottle.
func (d *Dir) QueuePath() string { return d.Join(QueueDir) }

func (d *Dir) openQueue() (*os.Root, error) {
	root, err := os.OpenRoot(d.QueuePath())
	if err != nil {
		return nil, fmt.Errorf("open queue of %s: %w", d.Identity, err)
	}
	return root, nil
}

// ScanQueue returns the pending (valid, unanswered) requests, oldest first.
// Invalid requests are answered "rejected", recorded in the audit log and
// returned in rejected; they never stop the scan. Nothing in the queue is
// trusted: links are not followed, sizes are capped, names are checked.
func (d *Dir) ScanQueue() (pending []*Request, rejected []Rejection, err error) {
	root, err := d.openQueue()
	if err != nil {
		return nil, nil, err
	}
	defer root.Close()
	dir, err := root.Open(".")
	if err != nil {
		return nil, nil, fmt.Errorf("read queue of %s: %w", d.Identity, err)
	}
	entries, err := dir.ReadDir(maxQueueEntries)
	_ = dir.Close()
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, nil, fmt.Errorf("read queue of %s: %w", d.Identity, err)
	}
	names := map[string]bool{}
	for _, e := range entries {
		names[e.Name()] = true
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name() < entries[j].Name() })
	type found struct {
		req *Request
		mod time.Time
	}
	var ok []found
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") || strings.HasSuffix(name, answerSuffix) || !strings.HasSuffix(name, ".json") {
			continue // temp files being written, answers, and anything else
		}
		id := strings.TrimSuffix(name, ".json")
		if names[id+answerSuffix] {
			continue
		}
		req, info, rerr := readRequest(root, name, id)
		if rerr == nil {
			ok = append(ok, found{req, info})
			continue
		}
		rejected = append(rejected, Rejection{ID: id, Reason: rerr.Error()})
		if !requestIDPattern.MatchString(id) {
			// A name we cannot answer under: drop the file so it is not
			// reconsidered, and keep the evidence in the audit log. What
			// cannot be removed (a non-empty directory, files of the
			// bottle's root) is moved to a dot name the scan skips, or
			// every scan would audit it again.
			if root.Remove(name) != nil {
				var rnd [8]byte
				_, _ = rand.Read(rnd[:])
				_ = root.Rename(name, ".rejected-"+hex.EncodeToString(rnd[:]))
			}
			_ = d.Audit("request_rejected", map[string]string{"file": truncate(fmt.Sprintf("%q", name), 200), "reason": rerr.Error()})
			continue
		}
		if werr := d.writeAnswer(root, Answer{ID: id, Status: AnswerRejected, Reason: rerr.Error()}); werr != nil {
			return nil, rejected, werr
		}
		_ = d.Audit("request_rejected", map[string]string{"request": id, "reason": rerr.Error()})
	}
	sort.SliceStable(ok, func(i, j int) bool { return ok[i].mod.Before(ok[j].mod) })
	for _, f := range ok {
		pending = append(pending, f.req)
	}
	return pending, rejected, nil
}

func readRequest(root *os.Root, name, id string) (*Request, time.Time, error) {
	if !requestIDPattern.MatchString(id) {
		return nil, time.Time{}, fmt.Errorf("request file name %q is not <id>.json with an id of letters, digits, _ and -", truncate(name, 80))
	}
	fi, err := root.Lstat(name)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("request vanished: %v", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, time.Time{}, fmt.Errorf("request is not a regular file")
	}
	if fi.Size() > MaxRequestSize {
		return nil, time.Time{}, fmt.Errorf("request is larger than %d bytes", MaxRequestSize)
	}
	f, err := root.OpenFile(name, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("open request: %v", err)
	}
	defer f.Close()
	// The agent can swap the name between the Lstat and the open: check the
	// file actually opened, or a FIFO swapped in (its write end held open)
	// would block the read forever.
	if fi, err = f.Stat(); err != nil {
		return nil, time.Time{}, fmt.Errorf("stat request: %v", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, time.Time{}, fmt.Errorf("request is not a regular file")
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxRequestSize+1))
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("read request: %v", err)
	}
	req, err := ParseRequest(id, data)
	return req, fi.ModTime(), err
}

// Request returns the pending request id, or an error that says why not.
func (d *Dir) Request(id string) (*Request, error) {
	pending, _, err := d.ScanQueue()
	if err != nil {
		return nil, err
	}
	for _, r := range pending {
		if r.ID == id {
			return r, nil
		}
	}
	return nil, fmt.Errorf("%s has no pending request %q (see bottle requests): %w", d.Identity, id, fs.ErrNotExist)
}

// WriteAnswer answers request id in the queue, atomically.
func (d *Dir) WriteAnswer(a Answer) error {
	root, err := d.openQueue()
	if err != nil {
		return err
	}
	defer root.Close()
	return d.writeAnswer(root, a)
}

func (d *Dir) writeAnswer(root *os.Root, a Answer) error {
	if !requestIDPattern.MatchString(a.ID) {
		return fmt.Errorf("answer: invalid request id %q", truncate(a.ID, 80))
	}
	if a.Time == "" {
		a.Time = time.Now().UTC().Format(time.RFC3339)
	}
	data, err := json.Marshal(a)
	if err != nil {
		return fmt.Errorf("answer %s: %w", a.ID, err)
	}
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	tmp := ".answer-" + hex.EncodeToString(rnd[:])
	f, err := root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("answer %s: %w", a.ID, err)
	}
	_, werr := f.Write(append(data, '\n'))
	cerr := f.Close()
	if err := errors.Join(werr, cerr); err != nil {
		_ = root.Remove(tmp)
		return fmt.Errorf("answer %s: %w", a.ID, err)
	}
	// Renaming replaces whatever the agent put at the answer's name (even a
	// link) without following it.
	if err := root.Rename(tmp, a.ID+answerSuffix); err != nil {
		_ = root.Remove(tmp)
		return fmt.Errorf("answer %s: %w", a.ID, err)
	}
	return nil
}
