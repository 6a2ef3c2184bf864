package state

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// Names inside a state dir.
const (
	MetadataFile   = "metadata.json"
	DockerfileFile = "Dockerfile"
	PreserveFile   = ".preserve"
	AuditFile      = "audit.jsonl"
	QueueDir       = "queue"
	TranscriptDir  = "transcript"
	WorkspaceDir   = "workspace"
	// AgentLogFile holds what a detached or watch-resumed agent printed.
	AgentLogFile = "agent.log"
)

// Dir is the state dir of one identity.
type Dir struct {
	Identity string
	Path     string
}

// Join returns the path of name inside the state dir.
func (d *Dir) Join(name ...string) string {
	return filepath.Join(append([]string{d.Path}, name...)...)
}

// PreservePath is the path of the preserve marker.
func (d *Dir) PreservePath() string { return d.Join(PreserveFile) }

// MarkPreserved keeps the state dir past the end of the current session.
// Only the host writes it: the marker is outside the mounted queue.
func (d *Dir) MarkPreserved() error {
	return WriteFileAtomic(d.PreservePath(), []byte(time.Now().UTC().Format(time.RFC3339)+"\n"), 0o600)
}

// IsPreserved reports whether the preserve marker exists.
func (d *Dir) IsPreserved() bool {
	_, err := os.Lstat(d.PreservePath())
	return err == nil
}

// ClearPreserved removes a leftover marker; every launch calls it so that an
// old marker never keeps state alive past a later normal end.
func (d *Dir) ClearPreserved() error {
	if err := os.Remove(d.PreservePath()); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("clear preserve marker: %w", err)
	}
	return nil
}

// DockerfilePath is the path of the per-bottle Dockerfile.
func (d *Dir) DockerfilePath() string { return d.Join(DockerfileFile) }

// HasDockerfile reports whether a capability approval wrote a per-bottle
// Dockerfile (a regular file, never a link).
func (d *Dir) HasDockerfile() bool {
	fi, err := os.Lstat(d.DockerfilePath())
	return err == nil && fi.Mode().IsRegular()
}

// WriteDockerfile atomically writes the per-bottle Dockerfile. It is the last
// step of an approval: its appearance is what bottle watch acts on.
func (d *Dir) WriteDockerfile(content []byte) error {
	return WriteFileAtomic(d.DockerfilePath(), content, 0o600)
}

// DockerfileHash is the hex sha256 of the per-bottle Dockerfile, "" when
// there is none.
func (d *Dir) DockerfileHash() string {
	if !d.HasDockerfile() {
		return ""
	}
	data, err := os.ReadFile(d.DockerfilePath())
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// ReadDockerfile returns the per-bottle Dockerfile ("" when none).
func (d *Dir) ReadDockerfile() (string, error) {
	if !d.HasDockerfile() {
		return "", nil
	}
	data, err := os.ReadFile(d.DockerfilePath())
	if err != nil {
		return "", fmt.Errorf("read %s: %w", d.DockerfilePath(), err)
	}
	return string(data), nil
}

// ResumeReady reports whether an approval finished for this identity since
// its agent last started: it is preserved, no approval is in progress, and
// its per-bottle Dockerfile is not the one the last started agent ran on
// (md.DockerfileHash is written only once the agent starts, so a resume
// killed before that leaves the identity ready). An approval writes the
// Dockerfile last and clears its intent after it, so a half-done approval
// is never ready.
func (d *Dir) ResumeReady(md *Metadata) bool {
	if !d.IsPreserved() || d.HasIntent() {
		return false
	}
	h := d.DockerfileHash()
	return h != "" && h != md.DockerfileHash
}

// Remove deletes the whole state dir; its audit log is kept (audit.go).
func (d *Dir) Remove() error {
	if err := d.keepAudit(); err != nil {
		return err
	}
	if err := os.RemoveAll(d.Path); err != nil {
		return fmt.Errorf("remove state dir %s: %w", d.Path, err)
	}
	return nil
}

// Exists reports whether the state dir is still there.
func (d *Dir) Exists() bool {
	fi, err := os.Lstat(d.Path)
	return err == nil && fi.IsDir()
}

// AuditEvent is one line of audit.jsonl.
type AuditEvent struct {
	Time    time.Time         `json:"time"`
	Event   string            `json:"event"`
	Details map[string]string `json:"details,omitempty"`
}

// Audit appends one event to the append-only audit log. A single write of a
// short line to an O_APPEND file lands whole even with concurrent writers.
func (d *Dir) Audit(event string, details map[string]string) error {
	line, err := json.Marshal(AuditEvent{Time: time.Now().UTC(), Event: event, Details: details})
	if err != nil {
		return fmt.Errorf("audit %s: %w", event, err)
	}
	f, err := os.OpenFile(d.Join(AuditFile), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("audit %s: %w", event, err)
	}
	_, werr := f.Write(append(line, '\n'))
	cerr := f.Close()
	if werr != nil {
		return fmt.Errorf("audit %s: %w", event, werr)
	}
	if cerr != nil {
		return fmt.Errorf("audit %s: %w", event, cerr)
	}
	return nil
}
