//go:build unix

package buildctx

import (
	"io/fs"
	"syscall"
)

// owner returns the numeric owner of a file, kept in tar headers so that a
// copied tree has the same ownership inside the bottle as on the host.
func owner(fi fs.FileInfo) (uid, gid int) {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return int(st.Uid), int(st.Gid)
	}
	return 0, 0
}

// inode identifies a file with more than one hard link, or returns ok=false
// for files that have a single name (the common case, no bookkeeping).
func inode(fi fs.FileInfo) (id fileID, ok bool) {
	st, isStat := fi.Sys().(*syscall.Stat_t)
	if !isStat || uint64(st.Nlink) < 2 {
		return fileID{}, false
	}
	return fileID{dev: uint64(st.Dev), ino: uint64(st.Ino)}, true
}
