package state

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sort"
	"strings"
	"time"
)

// RequestsDir is the host-only folder of frozen requests. It sits beside the
// queue, never inside it: nothing mounted into the bottle reaches it.
const RequestsDir = "requests"

// maxFrozen bounds how many frozen records one read looks at.
const maxFrozen = 4096

// Frozen is a request as bottle first read it, kept host-side.
//
// Invariant (issue 10, item 1): the first read of a valid request copies it
// here, and from then on everything shown to the operator and everything
// built comes from this copy. A later rewrite of the queue file changes
// nothing here: it is rejected as a changed request (Dir.Intake).
type Frozen struct {
	Request *Request `json:"request"`
	// Digest is "sha256:<hex>" of the request's canonical JSON.
	Digest   string    `json:"digest"`
	FrozenAt time.Time `json:"frozen_at"`
	// Status is "" while pending, else the answer the host gave.
	Status     string    `json:"status,omitempty"`
	AnsweredAt time.Time `json:"answered_at,omitzero"`
}

// Pending reports whether the host has not answered the request yet.
func (f *Frozen) Pending() bool { return f.Status == "" }

// RequestDigest is the digest a frozen request is known by: sha256 of its
// canonical JSON, so that a rewrite that changes nothing a human or the
// build sees keeps it.
func RequestDigest(r *Request) string {
	data, _ := json.Marshal(r) // a struct of strings: cannot fail
	sum := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// NormalizeDigest accepts a digest as the operator typed it ("sha256:<hex>"
// or the bare 64 hex digits) and returns it in Frozen.Digest's form.
func NormalizeDigest(d string) (string, error) {
	hexPart := strings.TrimPrefix(strings.ToLower(strings.TrimSpace(d)), "sha256:")
	if b, err := hex.DecodeString(hexPart); err != nil || len(b) != sha256.Size {
		return "", fmt.Errorf("digest %q is not sha256:<64 hex digits> (copy it from bottle requests)", truncate(d, 80))
	}
	return "sha256:" + hexPart, nil
}

func (d *Dir) frozenPath(id string) string { return d.Join(RequestsDir, id+".json") }

// FrozenRequest returns the frozen record of request id.
func (d *Dir) FrozenRequest(id string) (*Frozen, error) {
	if !requestIDPattern.MatchString(id) {
		return nil, fmt.Errorf("%s has no request %q: %w", d.Identity, truncate(id, 80), fs.ErrNotExist)
	}
	data, err := os.ReadFile(d.frozenPath(id))
	if err != nil {
		return nil, fmt.Errorf("request %s of %s: %w", id, d.Identity, err)
	}
	var f Frozen
	if err := json.Unmarshal(data, &f); err != nil || f.Request == nil || f.Request.ID != id {
		return nil, fmt.Errorf("frozen request %s of %s is corrupt (bottle destroy %s removes it)", id, d.Identity, d.Identity)
	}
	return &f, nil
}

// frozenAll reads every frozen record, by id.
func (d *Dir) frozenAll() (map[string]*Frozen, error) {
	out := map[string]*Frozen{}
	f, err := os.Open(d.Join(RequestsDir))
	if errors.Is(err, fs.ErrNotExist) {
		return out, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the requests of %s: %w", d.Identity, err)
	}
	names, err := f.Readdirnames(maxFrozen)
	_ = f.Close()
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("read the requests of %s: %w", d.Identity, err)
	}
	for _, n := range names {
		id, ok := strings.CutSuffix(n, ".json")
		if !ok || strings.HasPrefix(n, ".") {
			continue
		}
		fr, err := d.FrozenRequest(id)
		if err != nil {
			continue // bottle writes these atomically: only a hand edit breaks one
		}
		out[id] = fr
	}
	return out, nil
}

// PendingRequests returns the frozen requests not answered yet, oldest
// first. It only reads: requests the agent filed since the last Intake are
// not in it.
func (d *Dir) PendingRequests() ([]*Frozen, error) {
	all, err := d.frozenAll()
	if err != nil {
		return nil, err
	}
	return sortedPending(all), nil
}

func sortedPending(all map[string]*Frozen) []*Frozen {
	var out []*Frozen
	for _, f := range all {
		if f.Pending() {
			out = append(out, f)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].FrozenAt.Equal(out[j].FrozenAt) {
			return out[i].FrozenAt.Before(out[j].FrozenAt)
		}
		return out[i].Request.ID < out[j].Request.ID
	})
	return out
}

// PendingRequest returns the frozen request id when it is still pending, or
// an error that says why not.
func (d *Dir) PendingRequest(id string) (*Frozen, error) {
	f, err := d.FrozenRequest(id)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s has no pending request %q (see bottle requests): %w", d.Identity, truncate(id, 80), fs.ErrNotExist)
	}
	if err != nil {
		return nil, err
	}
	if !f.Pending() {
		return nil, fmt.Errorf("request %s of %s was already answered (%s): %w", id, d.Identity, f.Status, fs.ErrNotExist)
	}
	return f, nil
}

// freeze records req as first read, unless a record of its id exists
// already: then that record stands and is returned. Creating by hard link
// makes the first freeze win even between two processes.
func (d *Dir) freeze(req *Request) (*Frozen, error) {
	f := &Frozen{Request: req, Digest: RequestDigest(req), FrozenAt: time.Now().UTC()}
	if err := os.Mkdir(d.Join(RequestsDir), 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("freeze request %s: %w", req.ID, err)
	}
	data, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("freeze request %s: %w", req.ID, err)
	}
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	tmp := d.Join(RequestsDir, ".new-"+hex.EncodeToString(rnd[:]))
	if err := WriteFileAtomic(tmp, append(data, '\n'), 0o600); err != nil {
		return nil, fmt.Errorf("freeze request %s: %w", req.ID, err)
	}
	defer os.Remove(tmp)
	if err := os.Link(tmp, d.frozenPath(req.ID)); errors.Is(err, fs.ErrExist) {
		return d.FrozenRequest(req.ID)
	} else if err != nil {
		return nil, fmt.Errorf("freeze request %s: %w", req.ID, err)
	}
	if err := syncDir(d.Join(RequestsDir)); err != nil {
		return nil, fmt.Errorf("freeze request %s: %w", req.ID, err)
	}
	return f, nil
}

// settle records the host's answer in the frozen record.
func (d *Dir) settle(f *Frozen, status string) error {
	c := *f
	c.Status, c.AnsweredAt = status, time.Now().UTC()
	if err := WriteJSONAtomic(d.frozenPath(f.Request.ID), &c, 0o600); err != nil {
		return fmt.Errorf("record the answer to %s: %w", f.Request.ID, err)
	}
	*f = c
	return nil
}

// Answer answers the frozen request f: the answer goes into the queue for
// the agent, then into the frozen record, which is what makes it no longer
// pending. Both writes replace what was there, so Answer can be repeated.
func (d *Dir) Answer(f *Frozen, status, reason string) error {
	if err := d.WriteAnswer(Answer{ID: f.Request.ID, Status: status, Reason: reason}); err != nil {
		return err
	}
	return d.settle(f, status)
}
