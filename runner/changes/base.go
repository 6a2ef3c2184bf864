package changes

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
)

// maxBaseRead caps one launch file read back for a diff.
const maxBaseRead = 256 << 20

// BaseContent returns the content an entry of the launch tree had. It is
// read back from the host folder, and used only when it still hashes as at
// launch; failing that, from the launch commit (for a file that was
// committed unchanged). The host folder is the user's own, yet it is read
// through an os.Root so that a link in it leads nowhere else.
func (m *Manifest) BaseContent(ctx context.Context, e *Entry) ([]byte, error) {
	if e.Type == Symlink {
		return []byte(e.Link), nil
	}
	if e.Size > maxBaseRead {
		return nil, fmt.Errorf("%s is larger than %d bytes", e.Path, maxBaseRead)
	}
	if data, err := m.readHost(e); err == nil && sumOf(data) == e.Sum {
		return data, nil
	}
	if g := m.Git; g != nil && g.Commit != "" {
		out, err := gitCmd{top: g.Top}.run(ctx, nil, "cat-file", "blob", g.Commit+":"+g.Prefix+e.Path)
		if err == nil && sumOf(out) == e.Sum {
			return out, nil
		}
	}
	return nil, fmt.Errorf("%s changed on the host since the bottle was launched, and its launch content is in no commit: "+
		"restore it on the host or export the changes as a branch or a folder instead", e.Path)
}

func (m *Manifest) readHost(e *Entry) ([]byte, error) {
	root, err := os.OpenRoot(m.Dir)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	fi, err := root.Lstat(e.Path)
	if err != nil || !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is no longer a file", e.Path)
	}
	f, err := root.Open(e.Path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, maxBaseRead))
}

func sumOf(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
