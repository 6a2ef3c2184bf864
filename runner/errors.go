package runner

import (
	"github.com/hashicorp/hcl/v2"
)

// DiagnosticsError carries configuration diagnostics through an error
// return, so cmd can render them with their snippets.
type DiagnosticsError struct {
	Diags hcl.Diagnostics
}

func (e *DiagnosticsError) Error() string { return e.Diags.Error() }

// ConfigError is a runtime failure that can be traced to a place in
// bottle.hcl (a failed build points at the dockerfile attribute).
type ConfigError struct {
	Range hcl.Range
	Err   error
}

func (e *ConfigError) Error() string { return e.Err.Error() }

// Unwrap returns the cause.
func (e *ConfigError) Unwrap() error { return e.Err }

func withRange(err error, rng hcl.Range) error {
	if err == nil || rng.Filename == "" {
		return err
	}
	return &ConfigError{Range: rng, Err: err}
}
