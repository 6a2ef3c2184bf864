package buildctx

import (
	"io/fs"
	"syscall"
)

// changeStamp is what identifies a file's state beyond its mtime: the
// status change time (which no tool can set back), the inode and the link
// count.
func changeStamp(fi fs.FileInfo) (ctime int64, ino, nlink uint64) {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return st.Ctim.Nano(), st.Ino, uint64(st.Nlink)
	}
	return 0, 0, 0
}
