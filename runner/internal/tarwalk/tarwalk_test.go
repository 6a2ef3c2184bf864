package tarwalk

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"testing"
)

var errBig = errors.New("too big")

// stream makes a tar stream of regular files with the given sizes.
func stream(t *testing.T, sizes ...int) *bytes.Buffer {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for i, n := range sizes {
		if err := tw.WriteHeader(&tar.Header{Name: string(rune('a' + i)), Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(n)}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(bytes.Repeat([]byte{'x'}, n)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return &buf
}

func walk(ctx context.Context, t *testing.T, buf *bytes.Buffer, lim Limits) (names []string, err error) {
	t.Helper()
	for h, err := range Headers(ctx, tar.NewReader(buf), lim, errBig) {
		if err != nil {
			return names, err
		}
		names = append(names, h.Name)
	}
	return names, nil
}

func TestHeaders(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name    string
		sizes   []int
		lim     Limits
		want    int
		wantBig bool
	}{
		{"within", []int{3, 4}, Limits{MaxBytes: 7, MaxEntries: 2}, 2, false},
		{"too many entries", []int{1, 1, 1}, Limits{MaxBytes: 100, MaxEntries: 2}, 2, true},
		{"too many bytes", []int{5, 5}, Limits{MaxBytes: 9, MaxEntries: 10}, 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			names, err := walk(ctx, t, stream(t, tt.sizes...), tt.lim)
			if got := errors.Is(err, errBig); got != tt.wantBig {
				t.Fatalf("err = %v, want wrapping %v: %v", err, errBig, tt.wantBig)
			}
			if len(names) != tt.want {
				t.Fatalf("yielded %v, want %d headers", names, tt.want)
			}
		})
	}
}

func TestHeadersStopsAtCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	names, err := walk(ctx, t, stream(t, 1), Limits{MaxBytes: 10, MaxEntries: 10})
	if !errors.Is(err, context.Canceled) || len(names) != 0 {
		t.Fatalf("got %v, %v; want nothing and context.Canceled", names, err)
	}
}

func TestHeadersRejectsATruncatedStream(t *testing.T) {
	buf := stream(t, 600)
	buf.Truncate(700) // the header and part of the first file
	_, err := walk(context.Background(), t, buf, Limits{MaxBytes: 1000, MaxEntries: 10})
	if err == nil {
		t.Fatal("a truncated stream read without error")
	}
}
