package config

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// markerPattern finds terraform-style expectation markers: a trailing
// "# ERROR: <summary>" (or "# WARNING: <summary>") on the line where the
// diagnostic's Subject starts.
var markerPattern = regexp.MustCompile(`#\s*(ERROR|WARNING):\s*(.+?)\s*$`)

// fixtureEnv is the environment the error fixtures load with.
func fixtureEnv(name string) (string, bool) {
	env := map[string]string{"DEMO_TOKEN": "s3cret"}
	v, ok := env[name]
	return v, ok
}

// expectedMarkers reads the markers of a fixture as line -> "ERROR: summary".
func expectedMarkers(t *testing.T, path string) map[int]string {
	t.Helper()
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := map[int]string{}
	sc := bufio.NewScanner(bytes.NewReader(src))
	for line := 1; sc.Scan(); line++ {
		if m := markerPattern.FindStringSubmatch(sc.Text()); m != nil {
			want[line] = m[1] + ": " + m[2]
		}
	}
	return want
}

// gotMarkers turns diagnostics into the same line -> "SEVERITY: summary" map.
// A diagnostic without a Subject in the fixture cannot be marked, so it fails
// the test: every config error must point somewhere.
func gotMarkers(t *testing.T, path string, diags hcl.Diagnostics) map[int]string {
	t.Helper()
	got := map[int]string{}
	for _, d := range diags {
		if d.Subject == nil || d.Subject.Filename != path {
			t.Errorf("diagnostic without a subject in %s: %s: %s", path, d.Summary, d.Detail)
			continue
		}
		sev := "ERROR"
		if d.Severity == hcl.DiagWarning {
			sev = "WARNING"
		}
		line := d.Subject.Start.Line
		if prev, dup := got[line]; dup {
			t.Errorf("line %d has two diagnostics (%q and %q); a fixture can mark only one per line", line, prev, d.Summary)
		}
		got[line] = sev + ": " + d.Summary
	}
	return got
}

func diffMarkers(want, got map[int]string) string {
	lines := map[int]bool{}
	for l := range want {
		lines[l] = true
	}
	for l := range got {
		lines[l] = true
	}
	var out []string
	for _, l := range slices.Sorted(mapsKeys(lines)) {
		if want[l] != got[l] {
			out = append(out, fmt.Sprintf("line %d: want %q, got %q", l, want[l], got[l]))
		}
	}
	return strings.Join(out, "\n")
}

func mapsKeys(m map[int]bool) func(func(int) bool) {
	return func(yield func(int) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// TestErrorFixtures loads every testdata/errors/*.hcl and checks that each
// diagnostic points at the line its marker is on, with the marked summary.
func TestErrorFixtures(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join("testdata", "errors", "*.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range paths {
		t.Run(strings.TrimSuffix(filepath.Base(path), ".hcl"), func(t *testing.T) {
			cfg, diags := Load(path, Options{Env: fixtureEnv})
			if !diags.HasErrors() {
				t.Fatal("no errors")
			}
			want, got := expectedMarkers(t, path), gotMarkers(t, path, diags)
			if d := diffMarkers(want, got); d != "" {
				t.Errorf("markers differ:\n%s\n\nall diagnostics:\n%s", d, renderDiags(t, cfg, diags))
			}
		})
	}
}

// TestGoldenDiagnostics compares the rendered diagnostics of some fixtures
// with testdata/<name>.golden; go test -update rewrites them.
func TestGoldenDiagnostics(t *testing.T) {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"parse", "names", "bottles", "validate"} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join("testdata", "errors", name+".hcl")
			cfg, diags := Load(path, Options{Env: fixtureEnv})
			got := strings.ReplaceAll(renderDiags(t, cfg, diags), wd, "$PKG")
			golden := filepath.Join("testdata", name+".golden")
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("rendered diagnostics differ from %s (go test -update rewrites it):\n--- got\n%s\n--- want\n%s", golden, got, want)
			}
		})
	}
}
