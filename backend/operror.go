package backend

import "fmt"

// OpError is an engine's error with the operation that failed and, when it
// has one, the kind it maps to (ErrNotFound, ErrConflict), so that callers
// test errors.Is with this package's kinds while the engine's own message
// stays in the text. Each backend decides the kind from its engine's error
// classes, never from message text.
type OpError struct {
	Op   string
	Kind error // ErrNotFound, ErrConflict, or nil
	Err  error
}

func (e *OpError) Error() string { return e.Op + ": " + e.Err.Error() }

// Unwrap gives both the kind and the engine's error to errors.Is and As.
func (e *OpError) Unwrap() []error {
	if e.Kind == nil {
		return []error{e.Err}
	}
	return []error{e.Kind, e.Err}
}

// WrapOp names the failed operation (format and args) of err with kind.
func WrapOp(err, kind error, format string, args ...any) error {
	return &OpError{Op: fmt.Sprintf(format, args...), Kind: kind, Err: err}
}
