// Package tarwalk reads a tar stream that came out of a bottle under limits:
// the one loop that the snapshot extraction (runner/state) and the workspace
// comparison (runner/changes) share, so that both stop a hostile stream at
// the same bounds and in the same way.
package tarwalk

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
)

// Limits bound what one stream may cost the host.
type Limits struct {
	// MaxBytes caps the sum of the regular files' sizes.
	MaxBytes int64
	// MaxEntries caps the number of headers.
	MaxEntries int
}

// Headers yields the headers of tr in turn, with a nil error, until the end of
// the stream. It yields a non-nil error, and nothing after it, when ctx ends,
// the stream cannot be read, a regular file claims a negative size, or the
// stream goes over lim; an error for lim wraps tooLarge. The caller reads a
// regular file's content from tr before asking for the next header.
func Headers(ctx context.Context, tr *tar.Reader, lim Limits, tooLarge error) iter.Seq2[*tar.Header, error] {
	return func(yield func(*tar.Header, error) bool) {
		var total int64
		for n := 0; ; n++ {
			if err := ctx.Err(); err != nil {
				yield(nil, err)
				return
			}
			h, err := tr.Next()
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				yield(nil, fmt.Errorf("read tar: %w", err))
				return
			}
			if n >= lim.MaxEntries {
				yield(nil, fmt.Errorf("more than %d entries: %w", lim.MaxEntries, tooLarge))
				return
			}
			if h.Typeflag == tar.TypeReg {
				if h.Size < 0 {
					yield(nil, fmt.Errorf("entry %q has a negative size", h.Name))
					return
				}
				total += h.Size
				if total > lim.MaxBytes {
					yield(nil, fmt.Errorf("more than %d bytes: %w", lim.MaxBytes, tooLarge))
					return
				}
			}
			if !yield(h, nil) {
				return
			}
		}
	}
}
