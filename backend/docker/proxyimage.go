package docker

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"time"

	"github.com/bottle-dev/bottle/backend"
	"github.com/bottle-dev/bottle/backend/buildctx"
)

// proxyRepo is the repository of the egress proxy images, tagged by the
// hash of the binary in them: built once per bottle binary, locally, from
// no base image, so that no registry is ever needed.
const proxyRepo = "bottle-egress-proxy"

// LabelProxy marks the egress proxy containers and images
// (backend.LabelProxy); Leftovers reports the containers.
const LabelProxy = backend.LabelProxy

// proxyBinaryPath is where the binary sits in the image. Its base name is
// "bottle": the binary dispatches on it (cmd/bottle's tests run their test
// binary under that name).
const proxyBinaryPath = "/bottle"

// libDirs are searched for the shared libraries of a dynamically linked
// bottle binary (a cgo build), in the loader's order.
var libDirs = []string{"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib/aarch64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/lib64", "/usr/lib64", "/lib", "/usr/lib"}

// caBundles are the host's CA certificates, copied in so that the proxy
// can verify TLS upstreams (a secret's https hosts).
var caBundles = []string{"/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt"}

// CurrentProxyImage is the tag of the proxy image of this backend's
// bottle binary (backend.ProxyImager): gc keeps it for the next launch.
func (b *Backend) CurrentProxyImage(ctx context.Context) (string, error) {
	if b.proxyBin == "" {
		return "", nil
	}
	return proxyTag(b.proxyBin)
}

func proxyTag(bin string) (string, error) {
	sum, err := binaryID(bin)
	if err != nil {
		return "", fmt.Errorf("egress proxy image: %w", err)
	}
	return proxyRepo + ":" + sum[:16], nil
}

// binaryID identifies the content of the binary at bin by its Go build
// ID, whose last part is the linker's hash of the binary: one ELF note is
// read at each launch rather than the whole binary hashed. A binary
// without one (built with -buildid=) is hashed whole.
func binaryID(bin string) (string, error) {
	if f, err := elf.Open(bin); err == nil {
		defer f.Close()
		if sec := f.Section(".note.go.buildid"); sec != nil {
			// The note: name size, desc size, type, "Go\0\0", the ID.
			if data, err := sec.Data(); err == nil && len(data) > 16+8 {
				h := sha256.Sum256(append([]byte("go-buildid\x00"), data...))
				return hex.EncodeToString(h[:]), nil
			}
		}
	}
	return fileHash(bin)
}

// proxyImage returns the proxy image of the binary at bin, building it
// when missing.
func (b *Backend) proxyImage(ctx context.Context, bin string) (string, error) {
	if bin == "" {
		return "", fmt.Errorf("no bottle binary to run the egress proxy from")
	}
	tag, err := proxyTag(bin)
	if err != nil {
		return "", err
	}
	if info, err := b.c.ImageInspect(ctx, tag); err == nil && info.Config != nil && info.Config.Labels[LabelProxy] == "image" {
		return tag, nil
	} else if err != nil && !isNotFound(err) {
		return "", wrap(err, "inspect image %s", tag)
	}
	files, err := proxyFiles(bin)
	if err != nil {
		return "", fmt.Errorf("egress proxy image: %w", err)
	}
	var buf bytes.Buffer
	if err := proxyContext(files, &buf); err != nil {
		return "", fmt.Errorf("egress proxy image: %w", err)
	}
	if _, err := b.runBuild(ctx, &buf, tag, nil); err != nil {
		return "", err
	}
	return tag, nil
}

func fileHash(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// proxyFiles maps the image paths of the proxy to host files: the binary,
// and for a dynamically linked one its loader and libraries, at the paths
// the loader looks for them; the CA bundle when the host has one.
func proxyFiles(bin string) (map[string]string, error) {
	files := map[string]string{proxyBinaryPath: bin}
	f, err := elf.Open(bin)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", bin, err)
	}
	defer f.Close()
	for _, prog := range f.Progs {
		if prog.Type != elf.PT_INTERP {
			continue
		}
		data, err := io.ReadAll(prog.Open())
		if err != nil {
			return nil, fmt.Errorf("read the loader of %s: %w", bin, err)
		}
		interp := string(bytes.TrimRight(data, "\x00"))
		files[interp] = interp
	}
	if len(files) > 1 {
		if err := addLibs(f, files, map[string]bool{}); err != nil {
			return nil, fmt.Errorf("%s is dynamically linked: %w (build bottle with CGO_ENABLED=0)", bin, err)
		}
	}
	for _, ca := range caBundles {
		if _, err := os.Stat(ca); err == nil {
			files[ca] = ca
			break
		}
	}
	return files, nil
}

// addLibs adds the libraries f needs, and theirs.
func addLibs(f *elf.File, files map[string]string, seen map[string]bool) error {
	libs, err := f.ImportedLibraries()
	if err != nil {
		return err
	}
	for _, lib := range libs {
		if seen[lib] {
			continue
		}
		seen[lib] = true
		found := ""
		for _, dir := range libDirs {
			if _, err := os.Stat(filepath.Join(dir, lib)); err == nil {
				found = filepath.Join(dir, lib)
				break
			}
		}
		if found == "" {
			return fmt.Errorf("library %s not found in %v", lib, libDirs)
		}
		files[found] = found
		lf, err := elf.Open(found)
		if err != nil {
			return err
		}
		err = addLibs(lf, files, seen)
		lf.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

// proxyContext writes the build context: the files (symlinks resolved)
// and a Dockerfile FROM scratch that copies them in.
func proxyContext(files map[string]string, w io.Writer) error {
	tw := tar.NewWriter(w)
	dockerfile := fmt.Sprintf("FROM scratch\nLABEL %s=\"image\" %s=\"true\"\nCOPY rootfs/ /\nUSER 65534:65534\nENTRYPOINT [%q, \"egress-proxy\"]\n",
		LabelProxy, backend.LabelManaged, proxyBinaryPath)
	mtime := time.Unix(0, 0)
	if err := tw.WriteHeader(&tar.Header{Name: buildctx.DockerfileName, Mode: 0o644, Size: int64(len(dockerfile)), ModTime: mtime}); err != nil {
		return err
	}
	if _, err := io.WriteString(tw, dockerfile); err != nil {
		return err
	}
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	for _, p := range paths {
		if err := addFile(tw, path.Join("rootfs", p), files[p], mtime); err != nil {
			return err
		}
	}
	return tw.Close()
}

func addFile(tw *tar.Writer, name, src string, mtime time.Time) error {
	f, err := os.Open(src) // follows a library's symlink to its file
	if err != nil {
		return err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return err
	}
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o755, Size: info.Size(), ModTime: mtime}); err != nil {
		return err
	}
	_, err = io.Copy(tw, f)
	return err
}
