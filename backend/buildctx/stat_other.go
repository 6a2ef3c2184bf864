//go:build !unix

package buildctx

import "io/fs"

// owner has no numeric ownership to report on this platform.
func owner(fs.FileInfo) (uid, gid int) { return 0, 0 }

// inode cannot detect hard links on this platform; they are archived as
// separate regular files.
func inode(fs.FileInfo) (fileID, bool) { return fileID{}, false }
