//go:build !linux

package buildctx

import "io/fs"

// changeStamp has no portable source outside Linux: the fingerprint then
// rests on mtimes and sizes.
func changeStamp(fs.FileInfo) (ctime int64, ino, nlink uint64) { return 0, 0, 0 }
