package docker

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bottle-dev/bottle/backend"
)

// probeImage builds an image with testdata/probe as /probe and a
// setuid-root copy as /suid.
func probeImage(t *testing.T, b *Backend) string {
	t.Helper()
	dir := t.TempDir()
	build := exec.CommandContext(t.Context(), "go", "build", "-o", filepath.Join(dir, "probe"), "./testdata/probe")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build probe: %v\n%s", err, out)
	}
	writeDockerfile(t, filepath.Join(dir, "Dockerfile"),
		"COPY probe /probe", "RUN cp /probe /suid && chmod 4755 /suid && mkdir -m 1777 -p /tmp")
	ref, err := b.EnsureImage(t.Context(), backend.Image{Dockerfile: filepath.Join(dir, "Dockerfile"), Context: dir}, nil)
	if err != nil {
		t.Fatalf("build probe image: %v", err)
	}
	return ref
}

// probe runs /probe argv in a bottle with sec, as user, and returns its
// output.
func probe(t *testing.T, b *Backend, ref, user string, sec backend.Security, argv ...string) string {
	t.Helper()
	spec := newSpec(append([]string{"/probe"}, argv...)...)
	spec.Image, spec.User, spec.Security = ref, user, sec
	inst := create(t, b, spec)
	var out bytes.Buffer
	code, err := b.Run(t.Context(), inst.ID, backend.IO{Stdout: &out, Stderr: &out})
	if err != nil || code != 0 {
		t.Fatalf("probe %v: exit %d, %v: %s", argv, code, err, out.String())
	}
	return out.String()
}

func wantLines(t *testing.T, what, out string, lines ...string) {
	t.Helper()
	for _, l := range lines {
		found := false
		for _, got := range strings.Split(out, "\n") {
			found = found || strings.HasPrefix(got, l)
		}
		if !found {
			t.Errorf("%s: want a line %q in:\n%s", what, l, out)
		}
	}
}

// TestHardenedByDefault: in a bottle with the default security a raw
// socket, mknod and a setuid escalation fail and the pids limit is in
// force; a security block that adds the capabilities, lifts no new
// privileges and the pids limit lets each of them succeed.
func TestHardenedByDefault(t *testing.T) {
	b := engine(t)
	ref := probeImage(t, b)
	def := backend.DefaultSecurity()
	wantLines(t, "default, root", probe(t, b, ref, "", def, "root"),
		"rawsock: denied", "mknod: denied", "nonewprivs: denied", "pidsmax: 4096")
	wantLines(t, "default, user", probe(t, b, ref, "1000:1000", def, "setuid"), "setuid: denied (euid 1000)")

	loose := backend.Security{
		Capabilities: append(append([]string{}, backend.DefaultCapabilities...), "NET_RAW", "MKNOD"),
		PidsLimit:    0,
	}
	wantLines(t, "loosened, root", probe(t, b, ref, "", loose, "root"),
		"rawsock: ok", "mknod: ok", "nonewprivs: ok", "pidsmax: max")
	wantLines(t, "loosened, user", probe(t, b, ref, "1000:1000", loose, "setuid"), "setuid: ok")

	// The limit is enforced, not only written: with 16 no more than 16
	// processes (the init and the probe among them) run.
	small := def
	small.PidsLimit = 16
	out := probe(t, b, ref, "", small, "pids", "32")
	var started, asked int
	if _, err := fmt.Sscanf(out, "pids: started %d of %d", &started, &asked); err != nil || started == 0 || started > 16 {
		t.Errorf("pids_limit 16: %q", out)
	}
	wantLines(t, "unlimited", probe(t, b, ref, "", loose, "pids", "32"), "pids: started 32 of 32")
}
