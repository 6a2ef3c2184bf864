package fake

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/bottle-dev/bottle/backend"
	"github.com/bottle-dev/bottle/backend/buildctx"
)

// LabelContentHash is put on every image the fake builds, as the Docker
// backend does: the buildctx.Hash of its Dockerfile and context.
const LabelContentHash = "dev.bottle.content-hash"

// image is one image of the fake: a file tree and its config.
type image struct {
	ref     string
	parent  string // the FROM reference of a built image
	fs      *vfs
	env     []string
	workdir string
	user    string
	cmd     []string
	labels  map[string]string
	hash    string
	// derivedFrom is the image Derive made this one of.
	derivedFrom *image
}

// Build is one image build EnsureImage ran.
type Build struct {
	// Ref is the reference the built image got (Image.Tag, or the content
	// tag buildctx.Tag).
	Ref        string
	Dockerfile string
	// Content is the Dockerfile's text at build time.
	Content string
	Context string
	Hash    string
	Labels  map[string]string
}

// AddImage adds (or replaces) the image ref with the given files (path →
// content, mode 0644, parents created). Instances of it start with those
// files: e.g. an /etc/passwd for a named user.
func (b *Backend) AddImage(ref string, files map[string]string) {
	im := &image{ref: ref, fs: newVFS(), env: []string{"PATH=" + defaultPath}, labels: map[string]string{}}
	for _, p := range slices.Sorted(maps.Keys(files)) {
		p2 := path.Clean("/" + p)
		_ = im.fs.mkdirAll(path.Dir(p2), 0o755, false)
		_ = im.fs.write(p2, []byte(files[p]), writeOpts{perm: 0o644})
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.images[ref] = im
}

// HasImage reports whether the fake has the image ref.
func (b *Backend) HasImage(ref string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.images[ref] != nil
}

// Builds returns the builds EnsureImage ran, oldest first. A Dockerfile
// whose content hash was built before under the same tag is not rebuilt
// and not listed again.
func (b *Backend) Builds() []Build {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := slices.Clone(b.builds)
	for i := range out {
		out[i].Labels = maps.Clone(out[i].Labels)
	}
	return out
}

// EnsureImage returns the reference of img. A missing Ref is "pulled": it
// becomes an empty image, with a progress line. A Dockerfile is built with
// the fake's builder, tagged img.Tag or buildctx.Tag of its content hash;
// the same content under the same tag is not built again (no progress).
func (b *Backend) EnsureImage(ctx context.Context, img backend.Image, p backend.Progress) (string, error) {
	img.Labels = maps.Clone(img.Labels)
	if err := b.begin(Call{Op: OpEnsureImage, Image: img}); err != nil {
		return "", err
	}
	switch {
	case img.Ref != "" && img.Dockerfile != "":
		return "", errors.New("image: both a reference and a Dockerfile are set")
	case img.Ref != "":
		b.pull(img.Ref, p)
		return img.Ref, nil
	case img.Dockerfile != "":
		return b.buildDockerfile(ctx, img, p)
	}
	return "", errors.New("image: neither a reference nor a Dockerfile is set")
}

// pull returns the image ref, creating an empty one when missing.
func (b *Backend) pull(ref string, p backend.Progress) *image {
	b.mu.Lock()
	im := b.images[ref]
	pulled := im == nil
	if pulled {
		im = &image{ref: ref, fs: newVFS(), env: []string{"PATH=" + defaultPath}, labels: map[string]string{}}
		b.images[ref] = im
	}
	b.mu.Unlock()
	if pulled {
		progress(p, "Pulling "+ref)
	}
	return im
}

func progress(p backend.Progress, line string) {
	if p != nil {
		p.Progress(line)
	}
}

func (b *Backend) buildDockerfile(ctx context.Context, img backend.Image, p backend.Progress) (string, error) {
	contextDir := img.Context
	if contextDir == "" {
		contextDir = filepath.Dir(img.Dockerfile)
	}
	content, err := os.ReadFile(img.Dockerfile)
	if err != nil {
		return "", fmt.Errorf("build: %w", err)
	}
	hash, err := buildctx.Hash(img.Dockerfile, contextDir)
	if err != nil {
		return "", fmt.Errorf("build: %w", err)
	}
	tag := img.Tag
	if tag == "" {
		tag = buildctx.Tag(buildctx.Keyed(hash, img.Labels))
	}
	b.mu.Lock()
	cur := b.images[tag]
	b.mu.Unlock()
	if cur != nil && cur.hash == hash {
		return tag, nil
	}
	built, err := b.build(ctx, string(content), contextDir, p)
	if err != nil {
		return "", fmt.Errorf("build image %s: %w", tag, err)
	}
	built.ref, built.hash = tag, hash
	maps.Copy(built.labels, img.Labels)
	built.labels[backend.LabelManaged], built.labels[LabelContentHash] = "true", hash
	if rest, ok := strings.CutPrefix(tag, "bottle/"); ok {
		identity, _, _ := strings.Cut(rest, ":")
		built.labels[backend.LabelIdentity] = identity
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.images[tag] = built
	b.builds = append(b.builds, Build{
		Ref: tag, Dockerfile: img.Dockerfile, Content: string(content), Context: contextDir, Hash: hash,
		Labels: maps.Clone(built.labels),
	})
	return tag, nil
}

// derive starts a new image from base (FROM).
func (im *image) derive() *image {
	return &image{
		parent: im.ref, fs: im.fs.clone(), env: slices.Clone(im.env), workdir: im.workdir,
		user: im.user, cmd: slices.Clone(im.cmd), labels: maps.Clone(im.labels),
	}
}

// setEnv sets KEY=VALUE in the image's environment.
func (im *image) setEnv(key, val string) {
	im.env = slices.DeleteFunc(im.env, func(kv string) bool { return strings.HasPrefix(kv, key+"=") })
	im.env = append(im.env, key+"="+val)
}

// copyTree copies src of from (a file, or a directory's contents) to dst
// of to, which ends with "/" or names an existing directory to receive a
// file under its own name.
func copyTree(from *vfs, src string, to *vfs, dst string, owner *[2]int) error {
	fi, err := from.stat(src, true)
	if err != nil {
		return err
	}
	if fi.Mode.IsDir() {
		pr, pw := io.Pipe()
		go func() { pw.CloseWithError(from.archive(src, pw)) }()
		err := to.extract(dst, pr, nil)
		pr.Close()
		if err != nil || owner == nil {
			return err
		}
		return chownTree(to, dst, owner)
	}
	if d, err := to.stat(dst, true); strings.HasSuffix(dst, "/") || (err == nil && d.Mode.IsDir()) {
		dst = path.Join(dst, path.Base(src))
	}
	data, err := from.readFile(src)
	if err != nil {
		return err
	}
	if err := to.mkdirAll(path.Dir(dst), 0o755, true); err != nil {
		return err
	}
	if owner == nil {
		owner = &[2]int{0, 0}
	}
	return to.write(dst, data, writeOpts{perm: fi.Mode.Perm(), noFollow: true, owner: owner})
}

func chownTree(v *vfs, dir string, owner *[2]int) error {
	files, err := v.walk(dir)
	if err != nil {
		return err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, f := range files {
		if n := v.nodes[path.Clean(f.Path)]; n != nil {
			n.uid, n.gid = owner[0], owner[1]
		}
	}
	return nil
}
