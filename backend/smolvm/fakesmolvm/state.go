package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// mount is one -v HOST:GUEST[:ro] of a machine.
type mount struct {
	Host     string `json:"host"`
	Guest    string `json:"guest"`
	ReadOnly bool   `json:"ro"`
}

// machine is one record of the fake's database (smolvm keeps it in SQLite).
type machine struct {
	Name      string   `json:"name"`
	State     string   `json:"state"` // created | running | stopped
	CPUs      int      `json:"cpus"`
	MemMiB    int      `json:"memory_mib"`
	StorageGB *int     `json:"storage_gb"`
	OverlayGB *int     `json:"overlay_gb"`
	Image     string   `json:"image"`        // as ls shows it: ref, local:<sha256>, "" = bare
	DockerRef string   `json:"docker_image"` // what the fake runs (loaded or local ref)
	Workload  []string `json:"workload"`
	Entry     []string `json:"entrypoint"`
	Cmd       []string `json:"cmd"`
	Network   bool     `json:"network"`
	// AllowedCIDRs and DNSFilterHosts are the egress allowlist, as smolvm
	// records it (resolved hosts among the CIDRs); tests read them here.
	AllowedCIDRs   []string          `json:"allowed_cidrs,omitempty"`
	DNSFilterHosts []string          `json:"dns_filter_hosts,omitempty"`
	Labels         map[string]string `json:"labels"`
	Env            []string          `json:"env"`
	Workdir        string            `json:"workdir"`
	Mounts         []mount           `json:"mounts"`
	Ports          []string          `json:"ports"`
	Init           []string          `json:"init"`
	InitDone       bool              `json:"init_done"`
	Ephemeral      bool              `json:"ephemeral"`
	CreatedAt      int64             `json:"created_at"`
}

// db is the whole state file.
type db struct {
	Machines map[string]*machine `json:"machines"`
}

// store is the fake's state under SMOLVM_DATA_DIR (or HOME): one JSON file
// guarded by an flock so that parallel invocations never lose an update.
type store struct {
	root string
}

func newStore(env func(string) string) (*store, error) {
	root := env("SMOLVM_DATA_DIR")
	if root == "" {
		root = env("HOME")
	}
	if root == "" {
		return nil, errors.New("neither SMOLVM_DATA_DIR nor HOME is set")
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	return &store{root: abs}, nil
}

func (s *store) dbDir() string { return filepath.Join(s.root, ".local", "share", "smolvm", "server") }

// vmDir is the per-machine data dir (`machine data-dir`).
func (s *store) vmDir(name string) string {
	return filepath.Join(s.root, ".cache", "smolvm", "vms", s.key(name))
}

// key is a short stable hash of (root, name): container and volume names
// derive from it so that two data dirs never share a container.
func (s *store) key(name string) string {
	h := sha256.Sum256([]byte(s.root + "\x00" + name))
	return hex.EncodeToString(h[:])[:16]
}

func (s *store) container(name string) string { return "fakesmolvm-" + s.key(name) }
func (s *store) volume(name string) string    { return "fakesmolvm-" + s.key(name) + "-workspace" }

// locked runs fn while holding the state lock; when fn returns nil and
// write is set, the (possibly modified) db is saved atomically.
func (s *store) locked(write bool, fn func(*db) error) error {
	dir := s.dbDir()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	lf, err := os.OpenFile(filepath.Join(dir, "fakesmolvm.lock"), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	defer lf.Close()
	if err := syscall.Flock(int(lf.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("lock state: %w", err)
	}
	defer syscall.Flock(int(lf.Fd()), syscall.LOCK_UN) //nolint:errcheck // closing the file unlocks too

	d := &db{Machines: map[string]*machine{}}
	path := filepath.Join(dir, "fakesmolvm.json")
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return err
	default:
		if err := json.Unmarshal(b, d); err != nil {
			return fmt.Errorf("corrupt state %s: %w", path, err)
		}
		if d.Machines == nil {
			d.Machines = map[string]*machine{}
		}
	}
	if err := fn(d); err != nil || !write {
		return err
	}
	out, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, ".fakesmolvm-*.json")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(out); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// get returns a copy of one record, or nil.
func (s *store) get(name string) (*machine, error) {
	var m *machine
	err := s.locked(false, func(d *db) error {
		if r := d.Machines[name]; r != nil {
			c := *r
			m = &c
		}
		return nil
	})
	return m, err
}
