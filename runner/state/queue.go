package state

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"syscall"
	"time"
)

// maxQueueEntries bounds how many queue names one Intake lists, so that a
// flooded queue cannot stall the host. Listing names is cheap; what costs
// (opening files) is bounded by maxReadsPerIntake.
const maxQueueEntries = 16384

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

// Quota of one identity's queue (issue 10, item 5). The queue is a host
// bind mount the agent fills at will; what bottle takes from it is bounded,
// so that a flood costs the host a fixed amount of work per read and never
// reaches the operator as more than MaxPendingRequests entries.
const (
	// MaxPendingRequests is how many requests of one identity may wait for
	// the operator at once; a request past it is rejected.
	MaxPendingRequests = 32
	// MaxPendingBytes bounds the total size of those requests.
	MaxPendingBytes = 256 << 10
	// maxReadsPerIntake bounds how many queue files one Intake opens; the
	// rest wait for the next one.
	maxReadsPerIntake = 64
)

// errVanished means a queue file went away while it was read: there is
// nothing to answer.
var errVanished = errors.New("request vanished")

// Intake takes in the queue. Each new valid request is frozen (see Frozen);
// invalid ones, ones over the quota, and frozen ones whose queue file has
// changed since are answered "rejected" and recorded in the audit log. It
// returns the pending frozen requests, oldest first, and the rejections it
// made. Nothing in the queue is trusted: links are not followed, sizes are
// capped, names are checked. The caller holds the identity's answer lock,
// so that no answer is written under it.
func (d *Dir) Intake() (pending []*Frozen, rejected []Rejection, err error) {
	root, err := d.openQueue()
	if err != nil {
		return nil, nil, err
	}
	defer root.Close()
	entries, err := readQueueDir(root)
	if err != nil {
		return nil, nil, fmt.Errorf("read queue of %s: %w", d.Identity, err)
	}
	names := map[string]bool{}
	for _, e := range entries {
		names[e] = true
	}
	frozen, err := d.frozenAll()
	if err != nil {
		return nil, nil, err
	}
	count, size := 0, 0
	for _, f := range frozen {
		if f.Pending() {
			count++
			size += requestSize(f.Request)
		}
	}
	type found struct {
		req *Request
		mod time.Time
	}
	var fresh []found
	reads := 0
	for _, name := range entries {
		if !isRequestName(name) {
			continue // temp files being written, answers, and anything else
		}
		id := strings.TrimSuffix(name, ".json")
		if f := frozen[id]; f != nil {
			if !f.Pending() {
				continue
			}
			reads++
			rj, err := d.recheck(root, name, f)
			if err != nil {
				return nil, rejected, err
			}
			if rj != nil {
				rejected = append(rejected, *rj)
			}
			continue
		}
		if reads >= maxReadsPerIntake || answered(root, names, id, len(entries)) {
			continue
		}
		reads++
		req, mod, rerr := readRequest(root, name, id)
		switch {
		case errors.Is(rerr, errVanished):
		case rerr == nil:
			fresh = append(fresh, found{req, mod})
		default:
			rejected = append(rejected, Rejection{ID: id, Reason: rerr.Error()})
			if err := d.reject(root, name, id, rerr); err != nil {
				return nil, rejected, err
			}
		}
	}
	// Oldest first: freezing in the order the agent wrote them keeps that
	// order in FrozenAt.
	sort.SliceStable(fresh, func(i, j int) bool { return fresh[i].mod.Before(fresh[j].mod) })
	var over []string
	for _, f := range fresh {
		n := requestSize(f.req)
		if count >= MaxPendingRequests || size+n > MaxPendingBytes {
			reason := fmt.Sprintf("the queue already holds %d requests (%d bytes) waiting for the operator; at most %d (%d bytes) may wait at once: wait for their answers", count, size, MaxPendingRequests, MaxPendingBytes)
			if err := d.writeAnswer(root, Answer{ID: f.req.ID, Status: AnswerRejected, Reason: reason}); err != nil {
				return nil, rejected, err
			}
			rejected = append(rejected, Rejection{ID: f.req.ID, Reason: reason})
			over = append(over, f.req.ID)
			continue
		}
		fr, err := d.freeze(f.req)
		if err != nil {
			return nil, rejected, err
		}
		frozen[fr.Request.ID] = fr
		if fr.Pending() {
			count, size = count+1, size+requestSize(fr.Request)
		}
	}
	if len(over) > 0 {
		// One line per Intake, not per request: a flood must not grow the
		// audit log by its own size.
		shown := over[:min(len(over), 10)]
		_ = d.Audit("request_rejected", map[string]string{
			"reason": "queue quota", "count": fmt.Sprint(len(over)), "requests": strings.Join(shown, ","),
		})
	}
	d.prune(frozen, names, len(entries))
	return sortedPending(frozen), rejected, nil
}

// readQueueDir returns the names in the queue, sorted, at most
// maxQueueEntries of them. It only reads.
func readQueueDir(root *os.Root) ([]string, error) {
	dir, err := root.Open(".")
	if err != nil {
		return nil, err
	}
	names, err := dir.Readdirnames(maxQueueEntries)
	_ = dir.Close()
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	sort.Strings(names)
	return names, nil
}

// answered reports whether the queue holds an answer to id. When the
// listing was cut short (a flood) the answer may be among the names not
// listed, so it is looked up: else a flood would be answered again on every
// Intake.
func answered(root *os.Root, names map[string]bool, id string, listed int) bool {
	if names[id+answerSuffix] {
		return true
	}
	if listed < maxQueueEntries {
		return false
	}
	_, err := root.Lstat(id + answerSuffix)
	return err == nil
}

// recheck compares the queue file of the pending frozen request f with it.
// A file that changed (or went bad) is a changed request: the frozen one is
// rejected, never built, and the agent is told to file a new one.
func (d *Dir) recheck(root *os.Root, name string, f *Frozen) (*Rejection, error) {
	req, _, rerr := readRequest(root, name, f.Request.ID)
	if errors.Is(rerr, errVanished) {
		return nil, nil // the frozen copy stands; the operator still answers it
	}
	now := "invalid: "
	if rerr == nil {
		if now = RequestDigest(req); now == f.Digest {
			return nil, nil
		}
	} else {
		now += rerr.Error()
	}
	reason := "the request changed after bottle read it; changed requests are never built: file a new request under a new id"
	if err := d.writeAnswer(root, Answer{ID: f.Request.ID, Status: AnswerRejected, Reason: reason}); err != nil {
		return nil, err
	}
	if err := d.settle(f, AnswerRejected); err != nil {
		return nil, err
	}
	_ = d.Audit("request_changed", map[string]string{"request": f.Request.ID, "digest": f.Digest, "now": truncate(now, 300)})
	return &Rejection{ID: f.Request.ID, Reason: reason}, nil
}

// reject answers the invalid request file name "rejected" and audits it.
func (d *Dir) reject(root *os.Root, name, id string, why error) error {
	if !requestIDPattern.MatchString(id) {
		// A name we cannot answer under: drop the file so it is not
		// reconsidered, and keep the evidence in the audit log. What
		// cannot be removed (a non-empty directory, files of the
		// bottle's root) is moved to a dot name Intake skips, or every
		// Intake would audit it again.
		if root.Remove(name) != nil {
			var rnd [8]byte
			_, _ = rand.Read(rnd[:])
			_ = root.Rename(name, ".rejected-"+hex.EncodeToString(rnd[:]))
		}
		_ = d.Audit("request_rejected", map[string]string{"file": truncate(fmt.Sprintf("%q", name), 200), "reason": why.Error()})
		return nil
	}
	if err := d.writeAnswer(root, Answer{ID: id, Status: AnswerRejected, Reason: why.Error()}); err != nil {
		return err
	}
	_ = d.Audit("request_rejected", map[string]string{"request": id, "reason": why.Error()})
	return nil
}

// prune drops the frozen records of answered requests whose queue file is
// gone, so that the host side stays as small as the queue. It leaves them
// when the queue was read only in part (a flood): their file may be there.
func (d *Dir) prune(frozen map[string]*Frozen, names map[string]bool, read int) {
	if read >= maxQueueEntries {
		return
	}
	for id, f := range frozen {
		if !f.Pending() && !names[id+".json"] {
			_ = os.Remove(d.frozenPath(id))
		}
	}
}

// requestSize is what a request counts against MaxPendingBytes.
func requestSize(r *Request) int {
	data, _ := json.Marshal(r)
	return len(data)
}

func readRequest(root *os.Root, name, id string) (*Request, time.Time, error) {
	if !requestIDPattern.MatchString(id) {
		return nil, time.Time{}, fmt.Errorf("request file name %q is not <id>.json with an id of letters, digits, _ and -", truncate(name, 80))
	}
	fi, err := root.Lstat(name)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("%w: %v", errVanished, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, time.Time{}, fmt.Errorf("request is not a regular file")
	}
	if fi.Size() > MaxRequestSize {
		return nil, time.Time{}, fmt.Errorf("request is larger than %d bytes", MaxRequestSize)
	}
	f, err := root.OpenFile(name, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if errors.Is(err, os.ErrNotExist) {
		return nil, time.Time{}, fmt.Errorf("%w: %v", errVanished, err)
	}
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
