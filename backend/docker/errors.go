package docker

import (
	cerrdefs "github.com/containerd/errdefs"

	"github.com/bottle-dev/bottle/backend"
)

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
	return backend.WrapOp(err, kind, format, args...)
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
