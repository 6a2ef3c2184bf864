package docker

import (
	"fmt"

	cerrdefs "github.com/containerd/errdefs"

	"github.com/bottle-dev/bottle/backend"
)

// engineError is an engine error with the operation that failed and, when
// it has one, the backend error kind it maps to, so that callers can test
// errors.Is(err, backend.ErrNotFound) without knowing about errdefs while
// the engine's own message stays in the text.
type engineError struct {
	op   string
	kind error // backend.ErrNotFound, backend.ErrConflict, or nil
	err  error
}

func (e *engineError) Error() string { return e.op + ": " + e.err.Error() }

func (e *engineError) Unwrap() []error {
	if e.kind == nil {
		return []error{e.err}
	}
	return []error{e.kind, e.err}
}

// wrap names the failed operation and maps the engine's not-found and
// conflict errors (errdefs classes, never message text) onto the backend's.
func wrap(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	var kind error
	switch {
	case cerrdefs.IsNotFound(err):
		kind = backend.ErrNotFound
	case cerrdefs.IsConflict(err):
		kind = backend.ErrConflict
	}
	return &engineError{op: fmt.Sprintf(format, args...), kind: kind, err: err}
}

// isNotFound reports whether an engine error means the object is gone,
// which teardown treats as done.
func isNotFound(err error) bool {
	return cerrdefs.IsNotFound(err)
}

// isConflict reports whether an engine error means the name is taken.
func isConflict(err error) bool {
	return cerrdefs.IsConflict(err)
}
