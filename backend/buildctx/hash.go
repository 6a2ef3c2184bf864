package buildctx

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"maps"
	"os"
	"slices"
)

// hashVersion starts every hash. Change it whenever what goes into the hash
// changes, so that images tagged under the old scheme are not trusted.
// Version 2 hashes only the context files the Dockerfile can read.
const hashVersion = "bottle-buildctx/2"

// TagRepo is the repository of images built from an agent Dockerfile and
// tagged by content (see Tag).
const TagRepo = "bottle-agent"

// errUnsure stops a selective hash that met something it cannot judge (a
// symlink on the way to a source, which the builder follows): Hash then
// hashes the whole context.
var errUnsure = errors.New("cannot tell which files the build reads")

// Hash returns the hex SHA-256 of a Dockerfile and what its build can read
// of the context as Context would send it (.dockerignore applied): the
// Dockerfile's bytes, the .dockerignore, and for every entry its COPY and
// ADD instructions can name its name, type, mode, link target and
// contents. A file the build cannot see (a bind-mounted cwd next to the
// Dockerfile) changes nothing; when the Dockerfile reads the whole context
// (`COPY . …`) or Hash cannot be sure what it reads (a variable in a
// source, `**`, RUN --mount, a symlink on the way), every entry counts.
// Mtimes and ownership are left out, so a fresh checkout of the same tree
// hashes the same. Files are streamed, never held in memory.
func Hash(dockerfile, contextDir string) (string, error) {
	src, err := readSources(dockerfile, contextDir)
	if err != nil {
		return "", err
	}
	if u := usedSources(src.dockerfile); u != nil {
		sum, err := src.hash(u)
		if !errors.Is(err, errUnsure) {
			return sum, err
		}
	}
	return src.hash(nil)
}

// hash hashes the sources with the context entries u selects (nil: all).
func (s *sources) hash(u *uses) (string, error) {
	h := &hasher{h: sha256.New(), buf: make([]byte, bufSize)}
	wk, err := s.walker(h.add)
	if err != nil {
		return "", err
	}
	h.field([]byte(hashVersion))
	h.field(s.dockerfile)
	h.field(s.ignore)
	if u != nil {
		h.field([]byte("selected"))
		wk.sel = func(e entry) (bool, bool, error) {
			used, named, below := u.match(e.rel)
			if e.info.Mode()&fs.ModeSymlink != 0 && (named || below) {
				return false, false, errUnsure
			}
			return used, used || below, nil
		}
	}
	// Hash has no ctx in its signature: `bottle plan` calls it synchronously.
	if err := wk.walk(context.Background()); err != nil {
		if errors.Is(err, errUnsure) {
			return "", err
		}
		return "", fmt.Errorf("hash build context %s: %w", s.contextDir, err)
	}
	return hex.EncodeToString(h.h.Sum(nil)), nil
}

// Keyed mixes the labels an image is built with into a content hash: an
// image's labels are part of what it is, so the same Dockerfile built for
// two homes (or two agents) gets two tags rather than one that each build
// takes from the other. No labels leave the hash as it is.
func Keyed(hash string, labels map[string]string) string {
	if len(labels) == 0 {
		return hash
	}
	keys := slices.Sorted(maps.Keys(labels))
	h := &hasher{h: sha256.New()}
	h.field([]byte(hash))
	for _, k := range keys {
		h.field([]byte(k))
		h.field([]byte(labels[k]))
	}
	return hex.EncodeToString(h.h.Sum(nil))
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
