package buildctx

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
)

// fingerprintVersion starts every fingerprint; change it whenever what goes
// into one changes.
const fingerprintVersion = "bottle-fingerprint/1"

// Fingerprint returns a hex SHA-256 that changes whenever Tar(dir,
// excludes) would write something else, computed from metadata alone: for
// every entry its name, type, mode, owner, link target, size, inode, link
// count, and modification and status change times in nanoseconds. It reads
// no file contents, so it costs one lstat per entry. A file rewritten in
// place with the same size and mtime still changes its status change time,
// which no tool can set back; a checkout that rewrites files unchanged
// changes the fingerprint too, which only costs a copy.
func Fingerprint(ctx context.Context, dir string, excludes []string) (string, error) {
	pm, err := newMatcher(excludes)
	if err != nil {
		return "", err
	}
	h := &hasher{h: sha256.New()}
	h.field([]byte(fingerprintVersion))
	wk := walker{root: dir, pm: pm, fn: func(e entry) error {
		hdr, err := h.head(e)
		if err != nil || hdr == nil {
			return err
		}
		h.uint(uint64(hdr.Uid))
		h.uint(uint64(hdr.Gid))
		h.field([]byte(hdr.Linkname))
		h.uint(uint64(hdr.Size))
		h.uint(uint64(e.info.ModTime().UnixNano()))
		ctime, ino, nlink := changeStamp(e.info)
		h.uint(uint64(ctime))
		h.uint(ino)
		h.uint(nlink)
		return nil
	}}
	if err := wk.walk(ctx); err != nil {
		return "", fmt.Errorf("fingerprint %s: %w", dir, err)
	}
	return hex.EncodeToString(h.h.Sum(nil)), nil
}
