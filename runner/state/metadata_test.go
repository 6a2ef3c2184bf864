package state

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestMetadataRoundTrip(t *testing.T) {
	_, d := newDir(t)
	in := &Metadata{
		FormatVersion:  99,            // overwritten by WriteMetadata
		Identity:       "other-zzzzz", // overwritten by WriteMetadata
		Bottle:         "reviewer",
		Agent:          "claude",
		ConfigPath:     "/p/bottle.hcl",
		Cwd:            "/p",
		CopyCwd:        true,
		Backend:        "smolmachines",
		StartedAt:      time.Date(2025, 3, 4, 5, 6, 7, 8000, time.UTC),
		Image:          "bottle/reviewer-k3x9a",
		BaseImage:      "node:22-bookworm",
		SessionID:      "0b9c6a3e-6a4e-4a57-9d0e-2f3f0f4b8f11",
		DockerfileHash: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		Detached:       true,
		Launches:       3,
		Vars:           map[string]string{"task": "Fix the tests"},
		Spec: &LaunchRecord{
			Command:       []string{"claude", "-p", "x"},
			ResumeCommand: []string{"claude", "--resume", "id"},
			Env:           map[string]string{"ANTHROPIC_API_KEY": "(sensitive)"},
			Workdir:       "/workspace",
			User:          "agent",
			Transcript:    "/home/agent/.claude",
			CwdTarget:     "/workspace",
			Exclude:       []string{"node_modules"},
			CPUs:          1.5,
			MemoryBytes:   4 << 30,
			Dockerfile:    "agents/claude.Dockerfile",
		},
	}
	if err := d.WriteMetadata(in); err != nil {
		t.Fatal(err)
	}
	if in.FormatVersion != MetadataVersion || in.Identity != testIdentity {
		t.Errorf("WriteMetadata set version %d identity %q", in.FormatVersion, in.Identity)
	}
	out, err := d.ReadMetadata()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(in, out) {
		t.Errorf("round trip:\n got %+v\nwant %+v", out, in)
	}
	if out.BackendName() != "smolmachines" {
		t.Errorf("BackendName = %q", out.BackendName())
	}
	fi, err := os.Lstat(d.MetadataPath())
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode() != 0o600 {
		t.Errorf("metadata mode %v, want 0600", fi.Mode())
	}
	raw, _ := os.ReadFile(d.MetadataPath())
	for _, key := range []string{`"format_version": 1`, `"config": "/p/bottle.hcl"`, `"copy_cwd": true`, `"backend": "smolmachines"`, `"started_at"`, `"session_id"`, `"dockerfile_sha256"`, `"detached": true`} {
		if !bytes.Contains(raw, []byte(key)) {
			t.Errorf("metadata.json lacks %s:\n%s", key, raw)
		}
	}
}

func TestReadMetadata(t *testing.T) {
	tests := []struct {
		name    string
		content string
		backend string // want BackendName on success
		wantErr string // substring of the error; "" = success
	}{
		{"no backend reads as docker", `{"format_version":1,"identity":"reviewer-k3x9a","bottle":"reviewer"}`, "docker", ""},
		{"empty backend reads as docker", `{"format_version":1,"backend":""}`, "docker", ""},
		{"docker", `{"format_version":1,"backend":"docker"}`, "docker", ""},
		{"smolmachines", `{"format_version":1,"backend":"smolmachines"}`, "smolmachines", ""},
		{"no format_version (oldest files)", `{"bottle":"reviewer"}`, "docker", ""},
		{"no identity is taken from the dir", `{"format_version":1}`, "docker", ""},
		{"unknown fields are ignored", `{"format_version":1,"future":{"x":1}}`, "docker", ""},
		{"newer format_version", `{"format_version":2}`, "", "format_version 2 is newer"},
		{"much newer format_version", `{"format_version":1000000}`, "", "upgrade bottle"},
		{"corrupt JSON", `{"format_version":1,`, "", "corrupt JSON"},
		{"empty file", ``, "", "corrupt JSON"},
		{"not an object", `[1,2,3]`, "", "corrupt JSON"},
		{"wrong type", `{"format_version":"1"}`, "", "corrupt JSON"},
		{"bad time", `{"started_at":"yesterday"}`, "", "corrupt JSON"},
		{"identity mismatch", `{"format_version":1,"identity":"other-zzzzz"}`, "", `"other-zzzzz"`},
		{"identity traversal", `{"format_version":1,"identity":"../x"}`, "", "corrupt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, d := newDir(t)
			if err := os.WriteFile(d.MetadataPath(), []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			m, err := d.ReadMetadata()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if m.BackendName() != tt.backend {
					t.Errorf("BackendName = %q, want %q", m.BackendName(), tt.backend)
				}
				if m.Identity != testIdentity {
					t.Errorf("Identity = %q, want %q", m.Identity, testIdentity)
				}
				return
			}
			if err == nil {
				t.Fatalf("ReadMetadata succeeded: %+v", m)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %q does not contain %q", err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), d.MetadataPath()) {
				t.Errorf("error %q does not name the file", err)
			}
		})
	}
}

func TestReadMetadataMissing(t *testing.T) {
	_, d := newDir(t)
	_, err := d.ReadMetadata()
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("err = %v, want fs.ErrNotExist", err)
	}
}

func TestReadMetadataSizeLimit(t *testing.T) {
	// Valid JSON padded with whitespace: exactly at the limit is read, one
	// byte more is refused before decoding.
	body := []byte(`{"format_version":1,"backend":"smolmachines"}`)
	pad := func(n int) []byte {
		return append(bytes.Clone(body), bytes.Repeat([]byte(" "), n-len(body))...)
	}
	_, d := newDir(t)
	if err := os.WriteFile(d.MetadataPath(), pad(maxMetadataSize), 0o600); err != nil {
		t.Fatal(err)
	}
	if m, err := d.ReadMetadata(); err != nil || m.Backend != "smolmachines" {
		t.Errorf("metadata at the size limit: %v, %v", m, err)
	}
	if err := os.WriteFile(d.MetadataPath(), pad(maxMetadataSize+1), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := d.ReadMetadata()
	if err == nil {
		t.Fatal("oversized metadata was read")
	}
	if !strings.Contains(err.Error(), "larger than") || !strings.Contains(err.Error(), d.MetadataPath()) {
		t.Errorf("error %q does not say the file is too large", err)
	}
}

func TestReadMetadataDirectory(t *testing.T) {
	_, d := newDir(t)
	if err := os.Mkdir(d.MetadataPath(), 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := d.ReadMetadata(); err == nil || errors.Is(err, fs.ErrNotExist) {
		t.Errorf("ReadMetadata of a directory = %v, want an error", err)
	}
}

func TestBackendName(t *testing.T) {
	for in, want := range map[string]string{"": "docker", "docker": "docker", "smolmachines": "smolmachines"} {
		if got := (&Metadata{Backend: in}).BackendName(); got != want {
			t.Errorf("BackendName(%q) = %q, want %q", in, got, want)
		}
	}
}
