package buildctx_test

import (
	"io"
	"testing"

	"github.com/bottle-dev/bottle/backend/backendtest"
	"github.com/bottle-dev/bottle/backend/buildctx"
)

// The copy benchmark tree: 20,000 files, 200 MB.
const (
	benchFiles = 20_000
	benchBytes = 200 << 20
)

func benchTree(b *testing.B) string {
	b.Helper()
	dir := b.TempDir()
	if err := backendtest.GenerateTree(dir, benchFiles, benchBytes); err != nil {
		b.Fatal(err)
	}
	return dir
}

// BenchmarkTar measures the host side of a cwd copy (walk, read, archive)
// with no engine involved.
func BenchmarkTar(b *testing.B) {
	dir := benchTree(b)
	b.SetBytes(benchBytes)
	for b.Loop() {
		if err := buildctx.Tar(b.Context(), dir, nil, io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHash measures what `bottle plan` pays to hash a large context.
func BenchmarkHash(b *testing.B) {
	dir := benchTree(b)
	df := dir + "/d000/s0000/f00000.dat" // any file will do as the Dockerfile
	b.SetBytes(benchBytes)
	for b.Loop() {
		if _, err := buildctx.Hash(df, dir); err != nil {
			b.Fatal(err)
		}
	}
}
