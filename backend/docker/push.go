package docker

import (
	"context"
	"encoding/base64"
	"fmt"

	"github.com/docker/docker/api/types/image"
)

// anonymousAuth is the registry credential header for a registry without
// authentication: the engine insists on the header, and an empty JSON object
// means no credentials.
var anonymousAuth = base64.URLEncoding.EncodeToString([]byte("{}"))

// PushImage tags the local image ref as remote and pushes remote with the
// engine (the kubernetes backend's clusters pull bottle's images from a
// registry). The engine's credentials store is not consulted: a registry
// that needs a login is pushed to with `docker login` credentials only
// through the docker CLI, so bottle's registry must accept anonymous
// pushes from this host (a loopback registry does; see README).
func (b *Backend) PushImage(ctx context.Context, ref, remote string) error {
	if err := b.c.ImageTag(ctx, oneImage(ref), oneImage(remote)); err != nil {
		return wrap(err, "tag %s as %s", ref, remote)
	}
	rc, err := b.c.ImagePush(ctx, oneImage(remote), image.PushOptions{RegistryAuth: anonymousAuth})
	if err != nil {
		return wrap(err, "push %s", remote)
	}
	defer rc.Close()
	// A failed push is reported in the stream, with a 200 status.
	if _, err := readStream(rc, nil); err != nil {
		return fmt.Errorf("push %s: %w", remote, err)
	}
	return nil
}
