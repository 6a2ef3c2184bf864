package state

import (
	"io/fs"
	"sync"
	"syscall"
)

// scratch holds the buffers readSmall and queueHasRequests read into: a
// listing reads a file and a directory per state dir, and fresh buffers for
// each would be most of what it allocates.
var scratch = sync.Pool{New: func() any { return new([8 << 10]byte) }}

// readSmall reads at most limit+1 bytes of the file at path (so that a
// caller can tell a file over limit). It uses the system calls directly:
// os.Open registers every file with the runtime's poller and sets its flags
// back and forth, which is most of the cost of reading a small file, and a
// listing reads one per state dir. Errors are *fs.PathError, so a missing
// file matches fs.ErrNotExist.
func readSmall(path string, limit int) ([]byte, error) {
	var fd int
	var err error
	for {
		fd, err = syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	defer syscall.Close(fd)
	buf := scratch.Get().(*[8 << 10]byte)
	defer scratch.Put(buf)
	var out []byte
	for len(out) <= limit {
		n, err := syscall.Read(fd, buf[:min(len(buf), limit+1-len(out))])
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return nil, &fs.PathError{Op: "read", Path: path, Err: err}
		}
		if n == 0 {
			break
		}
		out = append(out, buf[:n]...)
	}
	if out == nil {
		out = []byte{}
	}
	return out, nil
}
