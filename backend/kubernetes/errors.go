package kubernetes

import (
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/bottle-dev/bottle/backend"
)

// wrap names the failed operation and maps the API's status reasons (never
// message text) onto the backend's error kinds.
func wrap(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	var kind error
	switch {
	case apierrors.IsNotFound(err):
		kind = backend.ErrNotFound
	case apierrors.IsAlreadyExists(err), apierrors.IsConflict(err):
		kind = backend.ErrConflict
	}
	return backend.WrapOp(err, kind, format, args...)
}
