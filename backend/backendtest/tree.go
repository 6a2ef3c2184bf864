package backendtest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
)

// filesPerDir keeps directories at the size of a typical source tree's, so
// that directory reads and path lookups weigh as they would on a real cwd.
const filesPerDir = 50

// GenerateTree fills dir (created when missing) with files regular files of
// pseudo-random, incompressible content totalling exactly totalBytes, spread
// over two levels of directories. Sizes vary (exponentially distributed, as
// in source trees: many small files, a few large ones). The same arguments
// always give the same tree, so benchmark runs are comparable.
func GenerateTree(dir string, files int, totalBytes int64) error {
	if files <= 0 || totalBytes < 0 {
		return fmt.Errorf("generate tree: need files > 0 and totalBytes >= 0, got %d, %d", files, totalBytes)
	}
	sizes := treeSizes(files, totalBytes)
	subdirs := (files + filesPerDir - 1) / filesPerDir
	top := int(math.Ceil(math.Sqrt(float64(subdirs))))
	src := rand.NewChaCha8([32]byte{'b', 'o', 't', 't', 'l', 'e'})
	var buf []byte
	for i, size := range sizes {
		sub := i / filesPerDir
		d := filepath.Join(dir, fmt.Sprintf("d%03d", sub%top), fmt.Sprintf("s%04d", sub))
		if i%filesPerDir == 0 {
			if err := os.MkdirAll(d, 0o755); err != nil {
				return fmt.Errorf("generate tree: %w", err)
			}
		}
		if int64(cap(buf)) < size {
			buf = make([]byte, size)
		}
		b := buf[:size]
		_, _ = src.Read(b) // ChaCha8.Read never fails
		name := filepath.Join(d, fmt.Sprintf("f%05d.dat", i))
		if err := os.WriteFile(name, b, 0o644); err != nil {
			return fmt.Errorf("generate tree: %w", err)
		}
	}
	return nil
}

// treeSizes draws files sizes from an exponential distribution and scales
// them to sum to exactly total.
func treeSizes(files int, total int64) []int64 {
	rng := rand.New(rand.NewPCG(1, 2))
	weights := make([]float64, files)
	var sum float64
	for i := range weights {
		weights[i] = rng.ExpFloat64()
		sum += weights[i]
	}
	sizes := make([]int64, files)
	var used int64
	for i, w := range weights {
		sizes[i] = int64(float64(total) * w / sum)
		used += sizes[i]
	}
	// Rounding leaves a few bytes over; they go to the files in order, one
	// each, which keeps every size within a byte of its share.
	for i := 0; used < total; i = (i + 1) % files {
		sizes[i]++
		used++
	}
	return sizes
}
