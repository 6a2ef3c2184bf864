package config

import (
	"testing"
)

func TestParseMemory(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want int64
	}{
		{"512MiB", 512 << 20},
		{"4GiB", 4 << 30},
		{"1.5GiB", 1536 << 20},
		{"100MB", 100_000_000},
		{"2gb", 2_000_000_000},
		{"512m", 512 << 20},
		{"64 KiB", 64 << 10},
		{"1TiB", 1 << 40},
		{"1000B", 1000},
	} {
		got, err := ParseMemory(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseMemory(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "4096", "4 gigs", "GiB", "-1GiB", "0MiB", "0.1B", "1e3MiB", "99999999999TiB", "1.GiB"} {
		if got, err := ParseMemory(bad); err == nil {
			t.Errorf("ParseMemory(%q) = %d, want an error", bad, got)
		}
	}
}

// TestBackendFromEnv: BOTTLE_BACKEND sets the backend of the bottles that
// set none; a bottle's own backend wins; a bad value is reported on the
// bottles that use it.
func TestBackendFromEnv(t *testing.T) {
	dir := writeConfig(t, `
agent "a" {
  image = "busybox"
}
bottle "plain" {
  agent = agent.a
}
bottle "pinned" {
  agent   = agent.a
  backend = "docker"
}
`, nil)
	cfg, diags := Load(dir, Options{Env: envMap(map[string]string{BackendEnv: "smolmachines"})})
	if diags.HasErrors() {
		t.Fatal(renderDiags(t, cfg, diags))
	}
	if b := cfg.Bottle("plain"); b.Backend != BackendSmolmachines || !b.BackendFromEnv {
		t.Errorf("plain: backend %q, from env %v", b.Backend, b.BackendFromEnv)
	}
	if b := cfg.Bottle("pinned"); b.Backend != BackendDocker || b.BackendFromEnv {
		t.Errorf("pinned: backend %q, from env %v", b.Backend, b.BackendFromEnv)
	}

	cfg, diags = Load(dir, Options{Env: noEnv})
	if b := cfg.Bottle("plain"); diags.HasErrors() || b.Backend != BackendDocker || b.BackendFromEnv {
		t.Errorf("no env: %v, %+v", diags, b)
	}

	_, diags = Load(dir, Options{Env: envMap(map[string]string{BackendEnv: "podman"})})
	if len(diags) != 1 || diags[0].Summary != "Unsupported backend" || diags[0].Subject.Start.Line != 5 {
		t.Errorf("bad BOTTLE_BACKEND: %v", diags)
	}
}
