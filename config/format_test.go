package config

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func TestFormat(t *testing.T) {
	src := []byte("agent \"a\" {\nimage=\"x\"\n    command = [\"a\",\"b\"]\n}\n")
	want := "agent \"a\" {\n  image   = \"x\"\n  command = [\"a\", \"b\"]\n}\n"
	got, diags := Format("bottle.hcl", src)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if string(got) != want {
		t.Errorf("Format =\n%s\nwant\n%s", got, want)
	}
	again, _ := Format("bottle.hcl", got)
	if !bytes.Equal(again, got) {
		t.Errorf("Format is not idempotent:\n%s", again)
	}
}

// TestFormatRefusesSyntaxErrors: fmt must not turn broken input into other
// broken input.
func TestFormatRefusesSyntaxErrors(t *testing.T) {
	out, diags := Format("broken.hcl", []byte("agent \"a\" {\n  image = \n"))
	if !diags.HasErrors() || out != nil {
		t.Fatalf("Format(broken) = %q, %v", out, diags)
	}
	if diags[0].Subject == nil || diags[0].Subject.Filename != "broken.hcl" {
		t.Errorf("diagnostic does not name the file: %+v", diags[0])
	}
}

// TestStarter: bottle init's file loads without errors in an empty folder
// and is already formatted.
func TestStarter(t *testing.T) {
	src := Starter()
	dir := t.TempDir()
	path := filepath.Join(dir, FileName)
	if err := os.WriteFile(path, src, 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, diags := Load(path, Options{Env: noEnv})
	if len(diags) > 0 {
		t.Fatal(renderDiags(t, cfg, diags))
	}
	if len(cfg.Bottles) != 1 || cfg.Bottles[0].Cwd == nil || cfg.Bottles[0].Cwd.Path != dir {
		t.Errorf("starter bottles = %+v", cfg.Bottles)
	}
	l, diags := cfg.Bottles[0].Launch(Session{})
	if diags.HasErrors() || l.Env["SESSION"].Known {
		t.Errorf("starter launch = %+v, %v", l, diags)
	}
	formatted, diags := Format(path, src)
	if diags.HasErrors() || !bytes.Equal(formatted, src) {
		t.Errorf("starter is not formatted:\n%s", formatted)
	}
}
