package kubernetes

import (
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/bottle-dev/bottle/backend"
)

// apiError is an API server error with the operation that failed and the
// backend error kind it maps to, so that callers can test errors.Is with
// backend.ErrNotFound or ErrConflict while the server's message stays.
type apiError struct {
	op   string
	kind error
	err  error
}

func (e *apiError) Error() string { return e.op + ": " + e.err.Error() }

func (e *apiError) Unwrap() []error {
	if e.kind == nil {
		return []error{e.err}
	}
	return []error{e.kind, e.err}
}

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
	return &apiError{op: fmt.Sprintf(format, args...), kind: kind, err: err}
}
