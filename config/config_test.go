package config

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// cmpConfig compares decoded configs: ranges are checked by the error
// fixtures and TestRanges, and expressions through Launch.
var cmpConfig = []cmp.Option{
	cmpopts.IgnoreUnexported(Config{}, Agent{}, Bottle{}, Variable{}),
	cmpopts.IgnoreTypes(hcl.Range{}),
	cmpopts.EquateEmpty(),
	cmp.Comparer(func(a, b cty.Value) bool { return a.RawEquals(b) }),
	cmp.Comparer(func(a, b cty.Type) bool { return a.Equals(b) }),
}

func abs(t *testing.T, path string) string {
	t.Helper()
	p, err := filepath.Abs(path)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func known(s string) Value  { return Value{Value: s, Known: true} }
func secret(s string) Value { return Value{Value: s, Known: true, Sensitive: true} }
func values(ss ...string) []Value {
	out := make([]Value, len(ss))
	for i, s := range ss {
		out[i] = known(s)
	}
	return out
}

// TestValidFixtures decodes every testdata/valid/*.hcl and compares the
// whole Config, and the Launch of every bottle with a known session.
func TestValidFixtures(t *testing.T) {
	dir := abs(t, filepath.Join("testdata", "valid"))
	shell := &Agent{Name: "shell", Image: "busybox:latest", Workdir: "/workspace"}
	claude := &Agent{
		Name: "claude", Dockerfile: filepath.Join(dir, "files", "agent.Dockerfile"), Context: dir,
		Transcript: "/home/agent/.claude", Workdir: "/src", User: "agent",
	}
	plain := &Agent{
		Name: "plain", Dockerfile: filepath.Join(dir, "files", "agent.Dockerfile"),
		Context: filepath.Join(dir, "files"), Workdir: "/workspace",
	}
	f := &Agent{Name: "f", Image: "busybox:1.36", Workdir: "/workspace"}
	session := Session{ID: "0b9f6a52", Identity: "fixer-k3x9a"}

	tests := []struct {
		file   string
		want   *Config
		launch map[string]*Launch
	}{{
		file: "minimal.hcl",
		want: &Config{
			Agents:  map[string]*Agent{"shell": shell},
			Bottles: []*Bottle{{Name: "main", Agent: shell, Backend: "docker", Network: true}},
		},
		launch: map[string]*Launch{"main": {}},
	}, {
		file: "full.hcl",
		want: &Config{
			Agents: map[string]*Agent{"claude": claude, "plain": plain},
			Bottles: []*Bottle{{
				Name: "fixer", Agent: claude, Backend: "smolmachines",
				Cwd: &Cwd{
					Path: filepath.Join(dir, "project"), Copy: true, Target: "/src",
					Exclude: []string{"node_modules", ".git/objects"}, Keep: "patch",
				},
				CPUs: 1.5, Memory: "1.5GiB", MemoryBytes: 1610612736, Network: true,
			}, {
				Name: "reviewer", Agent: plain, Backend: "docker",
				Cwd: &Cwd{Path: dir, Target: "/workspace"},
			}},
			Variables: []*Variable{
				{Name: "extra_args", Type: cty.List(cty.String), Value: cty.ListVal([]cty.Value{cty.StringVal("--verbose")}), Source: SourceDefault},
				{Name: "retries", Type: cty.Number, Value: cty.NumberIntVal(3), Source: SourceDefault},
				{Name: "task", Description: "What to do.", Type: cty.DynamicPseudoType, Value: cty.StringVal("Fix the tests"), Source: SourceDefault},
				{Name: "token", Sensitive: true, Type: cty.DynamicPseudoType, Value: cty.StringVal("t0ken"), Source: SourceDefault},
			},
		},
		launch: map[string]*Launch{
			"fixer": {
				Command: values("claude", "-p", "Fix the tests", "--session-id", "0b9f6a52", "--verbose"),
				ResumeCommand: []Value{
					known("claude"), known("--resume"), known("0b9f6a52"), known("--token"), secret("t0ken"),
				},
				Env: map[string]Value{
					"CLAUDE_CONFIG_DIR": known("/home/agent/.claude"),
					"TOKEN":             secret("t0ken"),
					"API_KEY":           secret("s3cret"),
					"RETRIES":           known("5"),
					"IDENTITY":          known("bottle-fixer-k3x9a"),
					"EXTRA":             known("X"),
				},
			},
			"reviewer": {},
		},
	}, {
		file: "functions.hcl",
		want: &Config{
			Agents:  map[string]*Agent{"f": f},
			Bottles: []*Bottle{{Name: "f", Agent: f, Backend: "docker", Network: true}},
			Variables: []*Variable{
				{Name: "name", Type: cty.DynamicPseudoType, Value: cty.StringVal("world"), Source: SourceDefault},
			},
			Files: []string{
				filepath.Join(dir, "files", "greeting.txt"), filepath.Join(dir, "files", "prompt.tmpl"),
				filepath.Join(dir, "files", "settings.json"), filepath.Join(dir, "files", "session.tmpl"),
			},
		},
		launch: map[string]*Launch{
			"f": {
				Command: values("sh", "-c", "Hello world! [a] [b]"),
				Env: map[string]Value{
					"GREETING": known("hello"),
					"JSON":     known(`{"a":1}`),
					"B64":      known("hi"),
					"SHA":      known("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
					"LEN":      known("3"),
					"JOINED":   known("a-b"),
					"TRIED":    known("fallback"),
					"FMT":      known("n-007"),
					"MAX":      known("5"),
					"LOOKUP":   known("default"),
					"SESSION":  known("session=0b9f6a52"),
					"UNSET":    secret(""),
					"LOOP":     known("X,Y"),
				},
			},
		},
	}}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			path := filepath.Join("testdata", "valid", tt.file)
			cfg, diags := Load(path, Options{Env: fixtureEnv})
			if len(diags) > 0 {
				t.Fatal(renderDiags(t, cfg, diags))
			}
			tt.want.Path, tt.want.Dir = filepath.Join(dir, tt.file), dir
			tt.want.Files = append([]string{tt.want.Path}, tt.want.Files...)
			if d := cmp.Diff(tt.want, cfg, cmpConfig...); d != "" {
				t.Errorf("Config (-want +got):\n%s", d)
			}
			for _, b := range cfg.Bottles {
				got, diags := b.Launch(session)
				if diags.HasErrors() {
					t.Fatalf("Launch(%s): %s", b.Name, renderDiags(t, cfg, diags))
				}
				if d := cmp.Diff(tt.launch[b.Name], got, cmpopts.EquateEmpty()); d != "" {
					t.Errorf("Launch(%s) (-want +got):\n%s", b.Name, d)
				}
			}
		})
	}
}

// TestLaunchUnknownSession is the planning case: session values unknown,
// everything else known, sensitivity kept.
func TestLaunchUnknownSession(t *testing.T) {
	cfg, diags := Load(filepath.Join("testdata", "valid", "full.hcl"), Options{Env: fixtureEnv})
	if diags.HasErrors() {
		t.Fatal(renderDiags(t, cfg, diags))
	}
	got, diags := cfg.Bottle("fixer").Launch(Session{})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	unknown := Value{}
	want := &Launch{
		Command:       []Value{known("claude"), known("-p"), known("Fix the tests"), known("--session-id"), unknown, known("--verbose")},
		ResumeCommand: []Value{known("claude"), known("--resume"), unknown, known("--token"), secret("t0ken")},
		Env: map[string]Value{
			"CLAUDE_CONFIG_DIR": known("/home/agent/.claude"),
			"TOKEN":             secret("t0ken"),
			"API_KEY":           secret("s3cret"),
			"RETRIES":           known("5"),
			"IDENTITY":          unknown,
			"EXTRA":             known("X"),
		},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("Launch (-want +got):\n%s", d)
	}
	// Only the identity is known: the id stays unknown on its own.
	got, _ = cfg.Bottle("fixer").Launch(Session{Identity: "fixer-k3x9a"})
	if got.Command[4].Known || !got.Env["IDENTITY"].Known {
		t.Errorf("partial session: command[4] = %+v, IDENTITY = %+v", got.Command[4], got.Env["IDENTITY"])
	}
}

func TestValueString(t *testing.T) {
	for _, tt := range []struct {
		v    Value
		want string
	}{
		{known("x"), "x"},
		{known(""), ""},
		{Value{}, "(known after launch)"},
		{secret("x"), "(sensitive)"},
		{Value{Sensitive: true}, "(sensitive)"},
	} {
		if got := tt.v.String(); got != tt.want {
			t.Errorf("%+v.String() = %q, want %q", tt.v, got, tt.want)
		}
	}
}

// TestFunctionsResolveAgainstConfigDir loads the functions fixture from
// another working directory: file() and templatefile() still find their
// files next to the config file.
func TestFunctionsResolveAgainstConfigDir(t *testing.T) {
	path := abs(t, filepath.Join("testdata", "valid", "functions.hcl"))
	t.Chdir(t.TempDir())
	cfg, diags := Load(path, Options{Env: fixtureEnv})
	if diags.HasErrors() {
		t.Fatal(renderDiags(t, cfg, diags))
	}
	want := filepath.Join(filepath.Dir(path), "files", "greeting.txt")
	if !slices.Contains(cfg.Files, want) {
		t.Errorf("Files = %v, want it to contain %s", cfg.Files, want)
	}
	if cfg.Agents["f"].Image != "busybox:1.36" {
		t.Errorf("image = %q", cfg.Agents["f"].Image)
	}
}

// TestLoadPaths covers a folder argument and a missing file.
func TestLoadPaths(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, FileName), []byte("agent \"a\" {\n  image = \"x\"\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, diags := Load(dir, Options{Env: noEnv})
	if diags.HasErrors() || cfg.Path != filepath.Join(dir, FileName) || cfg.Dir != dir {
		t.Errorf("Load(dir) = %s, %s, %v", cfg.Path, cfg.Dir, diags)
	}
	cfg, diags = Load(filepath.Join(dir, "nope"), Options{Env: noEnv})
	if !diags.HasErrors() || diags[0].Summary != "Configuration file not found" || cfg == nil {
		t.Errorf("Load(missing) = %v", diags)
	}
}
