package backendtest

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"path"

	"github.com/bottle-dev/bottle/backend"
)

// testCopyInOwner: the destination of a CopyIn with an owner, and the
// folders made for it, belong to that owner, even a destination that
// exists (the engine makes a missing workdir root's), so a non-root agent
// can write at the top of its workspace; without an owner, the folders made
// are owned like their nearest existing ancestor; the parents that exist
// keep their owner, and the entries keep their own.
func testCopyInOwner(h *harness) {
	inst := h.create(h.spec("true"))
	agent := &backend.Owner{UID: 1234, GID: 2345}
	h.must(h.b.CopyIn(h.ctx, inst.ID, "/owned/top/a/b", tarOf(h.t, file{name: "f", mode: 0o644, body: "x"}), agent), "CopyIn with an owner")
	h.must(h.b.CopyIn(h.ctx, inst.ID, "/owned/top/a/c", tarOf(h.t, file{name: "g", mode: 0o644}), nil), "CopyIn without an owner")
	h.must(h.b.CopyIn(h.ctx, inst.ID, "/owned/top/a", tarOf(h.t, file{name: "h", mode: 0o644}), &backend.Owner{UID: 7, GID: 7}), "CopyIn into an existing folder")

	var out bytes.Buffer
	h.must(h.b.CopyOut(h.ctx, inst.ID, "/owned", &out), "CopyOut")
	got := owners(h, &out)
	for name, want := range map[string]string{
		"top":       "1234:2345", // made for the first copy; kept by the third
		"top/a":     "7:7",       // the third copy's destination, though it existed
		"top/a/b":   "1234:2345",
		"top/a/c":   "1234:2345", // no owner: like top/a, its nearest ancestor
		"top/a/b/f": "0:0",       // an entry keeps the owner in its header
	} {
		if got[name] != want {
			h.t.Errorf("%s is owned by %q, want %s", name, got[name], want)
		}
	}
}

// owners reads a tar stream into entry name -> "uid:gid".
func owners(h *harness, r io.Reader) map[string]string {
	out := map[string]string{}
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		h.must(err, "read tar")
		out[path.Clean("/" + hdr.Name)[1:]] = fmt.Sprintf("%d:%d", hdr.Uid, hdr.Gid)
	}
}
