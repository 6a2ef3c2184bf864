package config

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// FuzzLoad loads arbitrary bytes as a bottle.hcl. It must never panic; every
// diagnostic range in the file must lie inside it; and a file without errors
// must format to something that parses and that a second format leaves alone.
func FuzzLoad(f *testing.F) {
	for _, pattern := range []string{
		filepath.Join("..", "examples", "*", FileName),
		filepath.Join("testdata", "valid", "*.hcl"),
		filepath.Join("testdata", "errors", "*.hcl"),
	} {
		paths, err := filepath.Glob(pattern)
		if err != nil {
			f.Fatal(err)
		}
		for _, p := range paths {
			src, err := os.ReadFile(p)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(src)
		}
	}
	f.Add(Starter())
	// One folder per fuzzing process: its inputs run one at a time.
	path := filepath.Join(f.TempDir(), FileName)
	f.Fuzz(func(t *testing.T, src []byte) {
		if err := os.WriteFile(path, src, 0o644); err != nil {
			t.Fatal(err)
		}
		cfg, diags := Load(path, Options{Env: noEnv})
		checkRanges(t, path, src, diags)
		if diags.HasErrors() {
			return
		}
		for _, b := range cfg.Bottles {
			for _, s := range []Session{{}, {ID: "0b9f6a52", Identity: b.Name + "-k3x9a"}} {
				_, diags := b.Launch(s)
				checkRanges(t, path, src, diags)
			}
		}
		out, diags := Format(path, src)
		if diags.HasErrors() {
			t.Fatalf("Format refused a file that loads: %v", diags)
		}
		if _, diags := hclsyntax.ParseConfig(out, path, hcl.InitialPos); diags.HasErrors() {
			t.Fatalf("formatted output does not parse: %v\n%s", diags, out)
		}
		again, _ := Format(path, out)
		if !bytes.Equal(again, out) {
			t.Fatalf("Format is not idempotent:\n--- once\n%s\n--- twice\n%s", out, again)
		}
	})
}

// checkRanges fails when a range in the loaded file lies outside its bytes.
func checkRanges(t *testing.T, path string, src []byte, diags hcl.Diagnostics) {
	t.Helper()
	for _, d := range diags {
		for _, r := range []*hcl.Range{d.Subject, d.Context} {
			if r == nil || r.Filename != path {
				continue
			}
			if r.Start.Byte < 0 || r.End.Byte > len(src) || r.Start.Byte > r.End.Byte {
				t.Errorf("%s: range %d-%d outside the file (%d bytes)", d.Summary, r.Start.Byte, r.End.Byte, len(src))
			}
		}
	}
}
