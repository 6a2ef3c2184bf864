package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"time"
)

// MetadataVersion is the metadata.json format this build writes and the
// newest it reads.
const MetadataVersion = 1

// maxMetadataSize bounds what is read from metadata.json.
const maxMetadataSize = 1 << 20

// Metadata is metadata.json: what a launch was, so that resume can repeat it.
type Metadata struct {
	FormatVersion int    `json:"format_version"`
	Identity      string `json:"identity"`
	Bottle        string `json:"bottle"`
	Agent         string `json:"agent"`
	// ConfigPath is the absolute path of the bottle.hcl the launch read.
	ConfigPath string `json:"config"`
	// Cwd is the absolute project folder; CopyCwd says whether it was copied.
	Cwd     string `json:"cwd"`
	CopyCwd bool   `json:"copy_cwd"`
	// Backend is "docker" or "smolmachines"; "" (older files) means docker.
	Backend   string    `json:"backend"`
	StartedAt time.Time `json:"started_at"`
	// Image is the image the agent ran on this launch; BaseImage is the
	// agent's own image (before any per-bottle Dockerfile), which a first
	// approval's Dockerfile starts FROM.
	Image     string `json:"image"`
	BaseImage string `json:"base_image,omitempty"`
	SessionID string `json:"session_id"`
	// DockerfileHash is the sha256 of the per-bottle Dockerfile the last
	// started agent ran on ("" when none): a Dockerfile whose hash differs
	// is a new approval, which is what bottle watch resumes on. It is
	// written once the agent starts, not when its image is built, so that
	// a resume killed in between is resumed again.
	DockerfileHash string `json:"dockerfile_sha256,omitempty"`
	// Detached is set for apply --detach launches, which no process owns.
	Detached bool `json:"detached,omitempty"`
	// Egress is "allowlist" when the launch runs behind an egress proxy:
	// egress requests can then be granted in place.
	Egress string `json:"egress,omitempty"`
	// Launches counts the launches of this identity (1 = first).
	Launches int `json:"launches,omitempty"`
	// Vars are the non-sensitive --var values of the first launch, passed
	// again on resume.
	Vars map[string]string `json:"vars,omitempty"`
	// VarFile holds the non-sensitive --var-file values of the first
	// launch as an HCL var file, read again on resume.
	VarFile string `json:"var_file,omitempty"`
	// Spec is the resolved launch, sensitive values replaced by "(sensitive)".
	Spec *LaunchRecord `json:"spec,omitempty"`
}

// LaunchRecord is the resolved launch spec as recorded (no secret values).
type LaunchRecord struct {
	Command       []string          `json:"command,omitempty"`
	ResumeCommand []string          `json:"resume_command,omitempty"`
	Env           map[string]string `json:"env,omitempty"`
	Workdir       string            `json:"workdir"`
	User          string            `json:"user,omitempty"`
	Transcript    string            `json:"transcript,omitempty"`
	CwdTarget     string            `json:"cwd_target,omitempty"`
	Exclude       []string          `json:"exclude,omitempty"`
	CPUs          float64           `json:"cpus,omitempty"`
	MemoryBytes   int64             `json:"memory_bytes,omitempty"`
	Dockerfile    string            `json:"dockerfile,omitempty"`
}

// BackendName is the backend the metadata names, with the backward-compatible
// default: a missing field means docker.
func (m *Metadata) BackendName() string {
	if m.Backend == "" {
		return "docker"
	}
	return m.Backend
}

// MetadataPath is the path of metadata.json.
func (d *Dir) MetadataPath() string { return d.Join(MetadataFile) }

// WriteMetadata writes metadata.json atomically.
func (d *Dir) WriteMetadata(m *Metadata) error {
	m.FormatVersion = MetadataVersion
	m.Identity = d.Identity
	return WriteJSONAtomic(d.MetadataPath(), m, 0o600)
}

// ReadMetadata reads metadata.json. A missing file wraps fs.ErrNotExist; a
// corrupt, oversized or newer file is an error that names the file.
func (d *Dir) ReadMetadata() (*Metadata, error) {
	path := d.MetadataPath()
	data, err := readSmall(path, maxMetadataSize)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("read %s: %w", path, fs.ErrNotExist)
		}
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(data) > maxMetadataSize {
		return nil, fmt.Errorf("read %s: larger than %d bytes; the file is corrupt (bottle destroy %s removes it)", path, maxMetadataSize, d.Identity)
	}
	var m Metadata
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("read %s: corrupt JSON (%v); bottle destroy %s removes it", path, err, d.Identity)
	}
	if m.FormatVersion > MetadataVersion {
		return nil, fmt.Errorf("read %s: format_version %d is newer than this bottle understands (%d); upgrade bottle", path, m.FormatVersion, MetadataVersion)
	}
	if m.Identity != "" && m.Identity != d.Identity {
		return nil, fmt.Errorf("read %s: it names identity %q, not %q; the file is corrupt", path, m.Identity, d.Identity)
	}
	m.Identity = d.Identity
	return &m, nil
}
