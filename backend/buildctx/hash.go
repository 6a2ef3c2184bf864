package buildctx

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"os"
)

// hashVersion starts every hash. Change it whenever what goes into the hash
// changes, so that images tagged under the old scheme are not trusted.
const hashVersion = "bottle-buildctx/1"

// TagRepo is the repository of images built from an agent Dockerfile and
// tagged by content (see Tag).
const TagRepo = "bottle-agent"

// Hash returns the hex SHA-256 of a Dockerfile and its build context as
// Context would send it (.dockerignore applied): the Dockerfile's bytes, the
// .dockerignore, and for every entry its name, type, mode, link target and
// contents. Mtimes and ownership are left out, so a fresh checkout of the
// same tree hashes the same. Files are streamed, never held in memory.
func Hash(dockerfile, contextDir string) (string, error) {
	src, err := readSources(dockerfile, contextDir)
	if err != nil {
		return "", err
	}
	h := &hasher{h: sha256.New(), buf: make([]byte, bufSize)}
	wk, err := src.walker(h.add)
	if err != nil {
		return "", err
	}
	h.field([]byte(hashVersion))
	h.field(src.dockerfile)
	h.field(src.ignore)
	// Hash has no ctx in its signature: `bottle plan` calls it synchronously.
	if err := wk.walk(context.Background()); err != nil {
		return "", fmt.Errorf("hash build context %s: %w", contextDir, err)
	}
	return hex.EncodeToString(h.h.Sum(nil)), nil
}

// Tag is the image tag of a content hash: bottle-agent:<first 16 hex digits>.
// The runner (for plan output) and the docker backend (for builds) both use
// it, so they always agree on whether an image is already built.
func Tag(hash string) string {
	if len(hash) > 16 {
		hash = hash[:16]
	}
	return TagRepo + ":" + hash
}

// hasher feeds walk entries into a hash. Every field is length-prefixed so
// that no two different trees can produce the same byte sequence.
type hasher struct {
	h   hash.Hash
	buf []byte
	num [binary.MaxVarintLen64]byte
}

func (h *hasher) uint(v uint64) {
	n := binary.PutUvarint(h.num[:], v)
	h.h.Write(h.num[:n])
}

func (h *hasher) field(b []byte) {
	h.uint(uint64(len(b)))
	h.h.Write(b)
}

// head hashes what identifies an entry in Hash and Fingerprint alike (its
// type, name and mode) and returns its tar header: nil for an entry no
// archive holds (sockets, devices), which is not hashed either.
func (h *hasher) head(e entry) (*tar.Header, error) {
	hdr, err := header(e)
	if err != nil || hdr == nil {
		return nil, err
	}
	h.h.Write([]byte{hdr.Typeflag})
	h.field([]byte(e.rel))
	h.uint(uint64(hdr.Mode))
	return hdr, nil
}

func (h *hasher) add(e entry) error {
	hdr, err := h.head(e)
	if err != nil || hdr == nil {
		return err
	}
	h.field([]byte(hdr.Linkname))
	if hdr.Typeflag != tar.TypeReg {
		return nil
	}
	h.uint(uint64(hdr.Size))
	f, err := os.Open(e.path)
	if err != nil {
		return err
	}
	// Read-only: a Close error cannot lose data.
	defer f.Close()
	n, err := io.CopyBuffer(h.h, io.LimitReader(f, hdr.Size), h.buf)
	if err != nil {
		return fmt.Errorf("%s: %w", e.rel, err)
	}
	if n != hdr.Size {
		return fmt.Errorf("%s: file shrank from %d to %d bytes while hashing", e.rel, hdr.Size, n)
	}
	return nil
}
