package buildctx

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Relative copies the entries of the tar stream r, as `tar -C DIR -c .`
// inside a guest writes it, to tw: the root entry "./" is dropped and every
// other name (and hard-link target) loses its "./" prefix, so the stream
// has the same shape as the engine's copy of a folder. Names are otherwise
// passed on as they are: whoever extracts the stream validates them.
func Relative(r io.Reader, tw *tar.Writer) error {
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read the bottle's tar: %w", err)
		}
		name := strings.TrimPrefix(hdr.Name, "./")
		if name == "" || name == "." {
			continue
		}
		hdr.Name = name
		if hdr.Typeflag == tar.TypeLink {
			hdr.Linkname = strings.TrimPrefix(hdr.Linkname, "./")
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if _, err := io.Copy(tw, tr); err != nil {
			return err
		}
	}
}
