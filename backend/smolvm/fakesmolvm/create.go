package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// validName follows smolvm's rules: 1–128 chars of [A-Za-z0-9_-], starting
// alphanumeric, no trailing '-', no "--".
var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$`)

func validName(n string) error {
	if !nameRE.MatchString(n) || strings.HasSuffix(n, "-") || strings.Contains(n, "--") {
		return fmt.Errorf("machine name '%s' is invalid: use 1-128 characters [A-Za-z0-9_-], "+
			"starting with a letter or digit, without a trailing '-' or '--'", n)
	}
	return nil
}

// protectedHost are host paths smolvm refuses to share.
var protectedHost = []string{"/", "/etc", "/usr", "/proc", "/dev", "/run", "/sys", "/boot", "/bin", "/sbin", "/lib"}

func (a *app) create(ctx context.Context, p *args) error {
	name := p.value("name")
	if name == "" {
		name = "vm-" + shortID()
	}
	fail := func(err error) error { return fmt.Errorf("config operation failed: create machine: %w", err) }
	if err := validName(name); err != nil {
		return fail(err)
	}
	for _, f := range []string{"from", "smolfile", "secret-env", "secret-file"} {
		if p.has(f) {
			return fmt.Errorf("fakesmolvm: --%s is not supported by the test double", f)
		}
	}
	m := &machine{Name: name, State: "created", CreatedAt: time.Now().Unix(), Workload: p.argv}
	if err := a.machineFlags(p, m, true); err != nil {
		return err
	}
	if err := a.egressFlags(ctx, p, m); err != nil {
		return err
	}
	a.noteTrailingFlags(p.argv)
	if err := a.store.locked(false, func(d *db) error {
		if d.Machines[name] != nil {
			return fail(fmt.Errorf("machine '%s' already exists or is being created", name))
		}
		return nil
	}); err != nil {
		io.Copy(io.Discard, a.stdin) //nolint:errcheck // smolvm reads the archive before failing too
		return err
	}
	if err := a.resolveImage(ctx, m, p.value("image")); err != nil {
		return fail(err)
	}
	err := a.store.locked(true, func(d *db) error {
		if d.Machines[name] != nil {
			return fail(fmt.Errorf("machine '%s' already exists or is being created", name))
		}
		d.Machines[name] = m
		return os.MkdirAll(a.store.vmDir(name), 0o755)
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "Created machine: %s\n  CPUs: %d, Memory: %d MiB\n", name, m.CPUs, m.MemMiB)
	for _, c := range []struct {
		what string
		n    int
	}{{"Mounts", len(m.Mounts)}, {"Ports", len(m.Ports)}, {"Init commands", len(m.Init)}} {
		if c.n > 0 {
			fmt.Fprintf(a.stdout, "  %s: %d\n", c.what, c.n)
		}
	}
	fmt.Fprintf(a.stdout, "\nStart it with: smolvm machine start --name %s\n", name)
	fmt.Fprintf(a.stdout, "Run a command: smolvm machine exec --name %s -- <command>\n", name)
	return nil
}

// machineFlags applies the flags create and run share to m, validating as
// smolvm does; nothing is persisted when one is refused.
func (a *app) machineFlags(p *args, m *machine, create bool) error {
	m.CPUs, m.MemMiB, m.Labels = 4, 8192, map[string]string{}
	num := func(flag string, min int, dst *int) error {
		v := p.value(flag)
		if v == "" {
			return nil
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return &usageError{msg: fmt.Sprintf("invalid value '%s' for '--%s <%s>': invalid digit found in string",
				v, flag, strings.ToUpper(flag)), usage: specs["create"].usage}
		}
		if n < min {
			return fmt.Errorf("invalid configuration: --%s must be at least %d, got %d", flag, min, n)
		}
		*dst = n
		return nil
	}
	var storage, overlay int
	for _, c := range []struct {
		flag string
		min  int
		dst  *int
	}{{"cpus", 1, &m.CPUs}, {"mem", 64, &m.MemMiB}, {"storage", 1, &storage}, {"overlay", 1, &overlay}} {
		if err := num(c.flag, c.min, c.dst); err != nil {
			return err
		}
	}
	if storage > 0 {
		m.StorageGB = &storage
	}
	if overlay > 0 {
		m.OverlayGB = &overlay
	}
	if m.CPUs > 16 {
		fmt.Fprintf(a.stderr, "warning: %d vCPUs requested; more than 16 are not used effectively\n", m.CPUs)
	}
	m.Network = p.has("net") || p.has("allow-host") || p.has("allow-cidr") ||
		p.has("outbound-localhost-only") || p.has("dns")
	for _, port := range p.values["port"] {
		if slices.Contains(m.Ports, port) || port == "0" || strings.HasPrefix(port, "0:") {
			return fmt.Errorf("invalid port mapping: %s", port)
		}
		m.Ports = append(m.Ports, port)
	}
	for _, l := range p.values["label"] {
		k, v, ok := strings.Cut(l, "=")
		if !ok || k == "" {
			return &usageError{msg: fmt.Sprintf("invalid value '%s' for '--label <KEY=VALUE>': expected KEY=VALUE", l),
				usage: specs["create"].usage}
		}
		m.Labels[k] = v
	}
	m.Env = a.envPairs(p.values["env"])
	m.Workdir = p.value("workdir")
	if create {
		m.Init = p.values["init"]
	}
	for _, v := range p.values["volume"] {
		mt, err := parseMount(v)
		if err != nil {
			return err
		}
		for _, o := range m.Mounts {
			if o.Guest == mt.Guest {
				return fmt.Errorf("invalid mount path: duplicate guest path %s", mt.Guest)
			}
		}
		m.Mounts = append(m.Mounts, mt)
	}
	return nil
}

// parseMount checks HOST:GUEST[:ro|:rw]: the host side must be an existing
// directory (virtiofs shares directories), the guest side absolute.
func parseMount(v string) (mount, error) {
	parts := strings.Split(v, ":")
	var mt mount
	if n := len(parts); n == 3 && (parts[2] == "ro" || parts[2] == "rw") {
		mt.ReadOnly = parts[2] == "ro"
		parts = parts[:2]
	}
	if len(parts) != 2 || parts[0] == "" || parts[1] == "" {
		return mt, fmt.Errorf("invalid mount path: %s (expected HOST:GUEST[:ro])", v)
	}
	if strings.Contains(parts[0], "://") {
		return mt, errors.New("fakesmolvm: remote (s3/rclone) mounts are not supported by the test double")
	}
	host, err := filepath.Abs(parts[0])
	if err == nil {
		host, err = filepath.EvalSymlinks(host)
	}
	if err != nil {
		return mt, fmt.Errorf("mount source not found: %s", parts[0])
	}
	st, err := os.Stat(host)
	if err != nil {
		return mt, fmt.Errorf("mount source not found: %s", parts[0])
	}
	if !st.IsDir() {
		return mt, fmt.Errorf("invalid mount path: %s is not a directory (only directories can be shared)", parts[0])
	}
	if slices.Contains(protectedHost, host) {
		return mt, fmt.Errorf("invalid mount path: refusing to share protected host path %s", host)
	}
	if !filepath.IsAbs(parts[1]) {
		return mt, fmt.Errorf("invalid mount path: guest path must be absolute: %s", parts[1])
	}
	mt.Host, mt.Guest = host, filepath.Clean(parts[1])
	return mt, nil
}

// isLocalImage is smolvm's rule: local when it starts with /, ./ or ../,
// is "-", or ends in a tar suffix; anything else is a registry ref.
func isLocalImage(img string) bool {
	return img == "-" || strings.HasPrefix(img, "/") || strings.HasPrefix(img, "./") ||
		strings.HasPrefix(img, "../") || strings.HasSuffix(img, ".tar") ||
		strings.HasSuffix(img, ".tar.gz") || strings.HasSuffix(img, ".tgz")
}

// resolveImage records where m's rootfs comes from. A local archive (stdin
// or a path) is loaded into Docker now and recorded as local:<sha256>; a
// registry ref is pulled in the guest at first start, so it needs network.
func (a *app) resolveImage(ctx context.Context, m *machine, img string) error {
	switch {
	case img == "":
		m.DockerRef = a.env("FAKESMOLVM_BARE_IMAGE")
		if m.DockerRef == "" {
			m.DockerRef = "busybox:latest"
		}
		return nil
	case strings.EqualFold(filepath.Base(img), "Dockerfile") || strings.HasSuffix(strings.ToLower(img), ".dockerfile"):
		return fmt.Errorf("'%s' is a Dockerfile, not an image: build it first (docker build), then "+
			"docker save IMAGE | smolvm machine create --image -", img)
	case !isLocalImage(img):
		if !m.Network && len(m.Ports) == 0 {
			return fmt.Errorf("image '%s' would be pulled inside the machine, which has no network "+
				"(use --net or an allowlist), or hand over a local image: "+
				"docker save %s | smolvm machine create --name %s --image -", img, img, m.Name)
		}
		m.Image, m.DockerRef = img, img
		return nil
	}
	var r io.Reader = a.stdin
	if img != "-" {
		if st, err := os.Stat(img); err == nil && st.IsDir() {
			return errors.New("fakesmolvm: unpacked rootfs directories are not supported by the test double")
		}
		f, err := os.Open(img)
		if err != nil {
			return fmt.Errorf("image archive not found: %s", img)
		}
		defer f.Close()
		r = f
	}
	h := sha256.New()
	tee := io.TeeReader(r, h)
	ref, err := loadImage(ctx, tee)
	io.Copy(io.Discard, tee) //nolint:errcheck // consume the rest so the hash covers every byte
	if err != nil {
		return fmt.Errorf("invalid image archive: %w", err)
	}
	m.Image, m.DockerRef = "local:"+hex.EncodeToString(h.Sum(nil)), ref
	return nil
}

// createFlags are create's long options; written after "--" they reach the
// workload instead, and smolvm says so.
func (a *app) noteTrailingFlags(argv []string) {
	var found []string
	for _, arg := range argv {
		if name, ok := strings.CutPrefix(arg, "--"); ok {
			name, _, _ = strings.Cut(name, "=")
			if specs["create"].lookup(name, 0) != nil {
				found = append(found, arg)
			}
		}
	}
	if len(found) > 0 {
		fmt.Fprintf(a.stderr, "note: %s after '--' belong to the workload and are not applied to the machine\n",
			strings.Join(found, ", "))
	}
}
