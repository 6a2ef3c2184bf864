package docker

import (
	"context"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"

	"github.com/bottle-dev/bottle/backend"
)

var _ backend.ImageLister = (*Backend)(nil)

// Images implements backend.ImageLister: the managed images, dangling ones
// included, each with whether a container (of anyone's) uses it.
func (b *Backend) Images(ctx context.Context) ([]backend.ImageInfo, error) {
	imgs, err := b.c.ImageList(ctx, image.ListOptions{Filters: managedFilter(nil)})
	if err != nil {
		return nil, wrap(err, "list images")
	}
	cs, err := b.c.ContainerList(ctx, container.ListOptions{All: true})
	if err != nil {
		return nil, wrap(err, "list containers")
	}
	used := make(map[string]bool, len(cs))
	for _, c := range cs {
		used[c.ImageID] = true
	}
	out := make([]backend.ImageInfo, 0, len(imgs))
	for _, im := range imgs {
		var tags []string
		for _, t := range im.RepoTags {
			if t != "<none>:<none>" {
				tags = append(tags, t)
			}
		}
		out = append(out, backend.ImageInfo{
			ID: im.ID, Tags: tags, Labels: im.Labels,
			Created: time.Unix(im.Created, 0), InUse: used[im.ID],
		})
	}
	return out, nil
}
