package changes

import (
	"archive/tar"
	"bytes"
	"testing"
)

func tarBytes(f *testing.F, entries ...*tar.Header) []byte {
	f.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range entries {
		if err := tw.WriteHeader(h); err != nil {
			f.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			if _, err := tw.Write(bytes.Repeat([]byte("x"), int(h.Size))); err != nil {
				f.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		f.Fatal(err)
	}
	return buf.Bytes()
}

// FuzzCompare feeds hostile tar streams (a bottle's workspace) to Scan and
// Compare: they must never panic, and every change they report must have a
// clean relative name and come with its content.
func FuzzCompare(f *testing.F) {
	base := tarBytes(f,
		&tar.Header{Typeflag: tar.TypeDir, Name: "d/", Mode: 0o755},
		&tar.Header{Typeflag: tar.TypeReg, Name: "d/a", Size: 3, Mode: 0o644},
		&tar.Header{Typeflag: tar.TypeSymlink, Name: "l", Linkname: "d/a"},
	)
	f.Add(base)
	f.Add(tarBytes(f,
		&tar.Header{Typeflag: tar.TypeReg, Name: "d/a", Size: 4, Mode: 0o755},
		&tar.Header{Typeflag: tar.TypeLink, Name: "h", Linkname: "d/a"},
		&tar.Header{Typeflag: tar.TypeReg, Name: ".git/hooks/post-checkout", Size: 2, Mode: 0o755},
	))
	f.Add(tarBytes(f, &tar.Header{Typeflag: tar.TypeReg, Name: "../escape", Size: 1}))
	f.Add(tarBytes(f, &tar.Header{Typeflag: tar.TypeLink, Name: "h", Linkname: "/etc/passwd"}))
	f.Add(tarBytes(f, &tar.Header{Typeflag: tar.TypeFifo, Name: "fifo"}))
	f.Add([]byte("not a tar"))
	lim := Limits{MaxEntries: 1000, MaxBytes: 1 << 20, MaxKept: 1 << 20}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Scan(t.Context(), bytes.NewReader(base), lim)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Scan(t.Context(), bytes.NewReader(data), lim); err != nil {
			return
		}
		store, err := NewStore(t.TempDir(), lim.MaxKept)
		if err != nil {
			t.Fatal(err)
		}
		defer store.Close()
		set, err := Compare(t.Context(), m, bytes.NewReader(data), store, lim)
		if err != nil {
			return
		}
		for _, c := range append(set.Changes, set.Git...) {
			if n, err := CleanName(c.Path); err != nil || n != c.Path {
				t.Errorf("change with a bad name %q", c.Path)
			}
			if c.New != nil && c.New.Type == File && c.Blob == "" {
				t.Errorf("%s changed without its content", c.Path)
			}
		}
	})
}
