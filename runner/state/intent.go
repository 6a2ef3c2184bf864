package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"
)

// IntentFile is the record of an approval in progress, host-only (beside
// the queue, never in it).
const IntentFile = "approval.json"

// Steps of an approval an Intent records.
const (
	// StepRecorded: the operator's decision is recorded; the bottle may
	// still run.
	StepRecorded = "recorded"
	// StepSnapshotted: the bottle is stopped and its transcript and
	// workspace are in the state dir; from here on the approval only goes
	// forward.
	StepSnapshotted = "snapshotted"
)

// Intent is an approval recorded before any of its steps. Invariant (issue
// 10, item 2): an identity with an intent is never cleaned up, and whoever
// next takes its answer lock (approve, deny, the session's cleanup
// decision, resume, watch, gc) finishes it or, while nothing irreversible
// was done, rolls it back. So a request is either still pending or fully
// approved (answered, Dockerfile written), never answered without a
// Dockerfile.
type Intent struct {
	Request *Request `json:"request"`
	Digest  string   `json:"digest"`
	By      string   `json:"by"`
	Step    string   `json:"step"`
	// Prev is the per-bottle Dockerfile before this approval ("" for the
	// first), so that writing the new one can be repeated.
	Prev string `json:"prev_dockerfile"`
	// Base is the image the first approval builds on.
	Base string    `json:"base,omitempty"`
	At   time.Time `json:"at"`
}

// WriteIntent records in atomically.
func (d *Dir) WriteIntent(in *Intent) error {
	return WriteJSONAtomic(d.Join(IntentFile), in, 0o600)
}

// ReadIntent returns the recorded approval, or nil when there is none.
func (d *Dir) ReadIntent() (*Intent, error) {
	data, err := os.ReadFile(d.Join(IntentFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the approval in progress of %s: %w", d.Identity, err)
	}
	var in Intent
	if err := json.Unmarshal(data, &in); err != nil || in.Request == nil {
		return nil, fmt.Errorf("the approval record %s is corrupt (bottle destroy %s removes the bottle)", d.Join(IntentFile), d.Identity)
	}
	return &in, nil
}

// HasIntent reports whether an approval is recorded and not finished.
func (d *Dir) HasIntent() bool {
	_, err := os.Lstat(d.Join(IntentFile))
	return err == nil
}

// ClearIntent ends the recorded approval.
func (d *Dir) ClearIntent() error {
	if err := os.Remove(d.Join(IntentFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("clear the approval record of %s: %w", d.Identity, err)
	}
	return syncDir(d.Path)
}
