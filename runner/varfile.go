package runner

import (
	"errors"
	"fmt"
	"os"

	"github.com/hashicorp/hcl/v2/hclwrite"

	"github.com/bottle-dev/bottle/config"
)

// recordedVarFile renders the values that came from --var-file, except
// sensitive ones, as an HCL var file, recorded in metadata so that a resume
// evaluates the config with them. It is a var file rather than --var
// strings so that a list or an object stays one, typed or not. "" when no
// value came from a var file.
func recordedVarFile(cfg *config.Config) string {
	f := hclwrite.NewEmptyFile()
	n := 0
	for _, v := range cfg.Variables {
		// A sensitive value is never written to the state dir: a resume
		// finds it (again) in BOTTLE_VAR_<name>, or falls back to the
		// default.
		if v.Source != config.SourceVarFile || v.Sensitive || !v.Value.IsWhollyKnown() {
			continue
		}
		f.Body().SetAttributeValue(v.Name, v.Value)
		n++
	}
	if n == 0 {
		return ""
	}
	return string(f.Bytes())
}

// loadWithVarFile loads the config at path with the recorded --var values
// and, when varFile is not empty, the recorded var file (written to a temp
// file for the load, removed after).
func loadWithVarFile(path string, vars map[string]string, varFile string) (*config.Config, error) {
	opts := config.Options{Vars: vars}
	if varFile != "" {
		tmp, err := os.CreateTemp("", "bottle-recorded-vars-*.hcl")
		if err != nil {
			return nil, fmt.Errorf("write the recorded --var-file values: %w", err)
		}
		defer os.Remove(tmp.Name())
		_, werr := tmp.WriteString(varFile)
		if err := errors.Join(werr, tmp.Close()); err != nil {
			return nil, fmt.Errorf("write the recorded --var-file values: %w", err)
		}
		opts.VarFiles = []string{tmp.Name()}
	}
	cfg, diags := config.Load(path, opts)
	if diags.HasErrors() {
		return nil, &DiagnosticsError{Diags: diags}
	}
	return cfg, nil
}
