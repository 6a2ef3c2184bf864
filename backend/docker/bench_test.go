package docker

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/docker/docker/api/types/image"

	"github.com/bottle-dev/bottle/backend"
	"github.com/bottle-dev/bottle/backend/backendtest"
	"github.com/bottle-dev/bottle/backend/buildctx"
)

// BenchmarkCwdCopy compares the two ways issue 3 allows for `copy = true`,
// from a host folder to a created bottle ready to start:
//
//   - CopyIn: create the bottle from the agent image, then stream the
//     folder into it (buildctx.Tar → CopyToContainer).
//   - DerivedImage: hash the folder, build `FROM <agent image>` + `COPY .`
//     with the folder as context, create the bottle from that image.
//
// The tree is issue 3's (20,000 files, 200 MB) unless BOTTLE_BENCH_FILES
// and BOTTLE_BENCH_BYTES say otherwise. Run with
//
//	BOTTLE_DOCKER_TESTS=1 go test -run '^$' -bench CwdCopy -benchtime 3x ./backend/docker/
func BenchmarkCwdCopy(b *testing.B) {
	be := engine(b)
	files, size := envInt(b, "BOTTLE_BENCH_FILES", 20_000), envInt(b, "BOTTLE_BENCH_BYTES", 200<<20)
	tree := b.TempDir()
	if err := backendtest.GenerateTree(tree, files, int64(size)); err != nil {
		b.Fatal(err)
	}

	b.Run("CopyIn", func(b *testing.B) {
		b.SetBytes(int64(size))
		for b.Loop() {
			spec := newSpec("true")
			inst, err := be.Create(b.Context(), spec)
			if err != nil {
				b.Fatal(err)
			}
			pr, pw := io.Pipe()
			go func() { pw.CloseWithError(buildctx.Tar(b.Context(), tree, nil, pw)) }()
			err = be.CopyIn(b.Context(), inst.ID, "/workspace", pr, nil)
			pr.Close()
			if err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			benchRemove(b, be, inst.ID, "")
			b.StartTimer()
		}
	})

	b.Run("DerivedImage", func(b *testing.B) {
		b.SetBytes(int64(size))
		dfDir := b.TempDir()
		df := filepath.Join(dfDir, "Dockerfile")
		for b.Loop() {
			// A fresh label above the COPY defeats the builder's cache, as
			// a changed cwd would.
			nonce := time.Now().UnixNano()
			content := fmt.Sprintf("FROM %s\nLABEL %s=%q dev.bottle.bench=\"%d\"\nCOPY . /workspace/\n", testImage(), runLabel, runID, nonce)
			if err := os.WriteFile(df, []byte(content), 0o644); err != nil {
				b.Fatal(err)
			}
			ref, err := be.EnsureImage(b.Context(), backend.Image{Dockerfile: df, Context: tree}, nil)
			if err != nil {
				b.Fatal(err)
			}
			spec := newSpec("true")
			spec.Image = ref
			inst, err := be.Create(b.Context(), spec)
			if err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			benchRemove(b, be, inst.ID, ref)
			b.StartTimer()
		}
	})
}

// benchRemove removes a benchmark's bottle and, when set, its image.
func benchRemove(b *testing.B, be *Backend, id, ref string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := be.Remove(ctx, id); err != nil {
		b.Fatal(err)
	}
	if ref != "" {
		if _, err := be.c.ImageRemove(ctx, ref, image.RemoveOptions{Force: true, PruneChildren: true}); err != nil {
			b.Fatal(err)
		}
	}
}

func envInt(b *testing.B, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		b.Fatalf("%s=%q: want a positive integer", name, v)
	}
	return n
}
