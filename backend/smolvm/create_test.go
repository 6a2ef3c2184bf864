package smolvm

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bottle-dev/bottle/backend"
)

// TestUser checks the launcher's user switch (smolvm has no --user).
func TestUser(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	df := "FROM busybox:latest\n" +
		"RUN mkdir -p /etc /home/agent && echo 'root:x:0:0::/root:/bin/sh' > /etc/passwd && " +
		"echo 'agent:x:1000:1000::/home/agent:/bin/sh' >> /etc/passwd && " +
		"printf 'root:x:0:\\nagent:x:1000:\\n' > /etc/group && chown 1000:1000 /home/agent\n" +
		"LABEL " + runLabel + "=" + runID + "\n"
	e.must(os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(df), 0o644), "write Dockerfile")
	ref, err := e.b.EnsureImage(e.ctx, backend.Image{Dockerfile: filepath.Join(dir, "Dockerfile"), Context: dir}, nil)
	e.must(err, "EnsureImage")
	argv := []string{"sh", "-c", `echo "$(id -u) $(id -g) $HOME $BOTTLE_IDENTITY"`}
	for i, c := range []struct {
		image, user, home, want string
	}{
		{ref, "agent", "", "1000 1000 /home/agent u-0\n"},
		{ref, "1000:1000", "", "1000 1000 /home/agent u-1\n"},
		// No passwd entry: added for su, with the bottle's HOME.
		{ref, "1234:1235", "/home/x", "1234 1235 /home/x u-2\n"},
		// busybox:latest has no /etc/passwd at all (the demo's case).
		{"busybox:latest", "1000:1000", "/home/agent", "1000 1000 /home/agent u-3\n"},
		{ref, "", "", "0 0 /root u-4\n"},
		{ref, "nobody-here", "", ""},
	} {
		identity := fmt.Sprintf("u-%d", i)
		env := []string{"BOTTLE_IDENTITY=" + identity}
		if c.home != "" {
			env = append(env, "HOME="+c.home)
		}
		id := e.create(backend.Spec{Identity: identity, Image: c.image, User: c.user, Command: argv, Env: env})
		var out, errOut bytes.Buffer
		code, err := e.b.Run(e.ctx, id, backend.IO{Stdout: &out, Stderr: &errOut})
		if c.want == "" {
			if err != nil || code != 126 || !strings.Contains(errOut.String(), "not in the image's /etc/passwd") {
				t.Errorf("unknown user: %d %v %q", code, err, errOut.String())
			}
			continue
		}
		if err != nil || code != 0 || out.String() != c.want {
			t.Errorf("user %q: %d %v stdout %q stderr %q; want %q", c.user, code, err, out.String(), errOut.String(), c.want)
		}
	}
}

// TestCreateFailures checks that a failed Create leaves no machine behind
// and says why.
func TestCreateFailures(t *testing.T) {
	e := newEnv(t)
	// Not in the local engine and no network: refused before smolvm.
	_, err := e.b.Create(e.ctx, backend.Spec{Identity: "cf-1", Image: "example.invalid/nope:1", Command: []string{"true"}})
	if err == nil || !strings.Contains(err.Error(), "not in the local Docker engine") {
		t.Errorf("Create of a missing image = %v", err)
	}
	// With network smolvm accepts the ref, and the first start cannot pull it.
	_, err = e.b.Create(e.ctx, backend.Spec{Identity: "cf-2", Image: "example.invalid/nope:1", Network: true,
		Command: []string{"true"}})
	if err == nil {
		t.Error("Create of an unpullable image succeeded")
	}
	if list, err := e.b.List(e.ctx, nil); err != nil || len(list) != 0 {
		t.Errorf("failed Creates left %+v (%v)", list, err)
	}
	// An archive path is passed to smolvm as is.
	archive := filepath.Join(t.TempDir(), "img.tar")
	out, err := exec.Command("docker", "save", "-o", archive, "busybox:latest").CombinedOutput()
	e.must(err, "docker save: "+string(out))
	id := e.create(backend.Spec{Identity: "cf-3", Image: archive, Command: []string{"echo", "from-archive"}})
	var buf bytes.Buffer
	if code, err := e.b.Run(e.ctx, id, backend.IO{Stdout: &buf}); err != nil || code != 0 || buf.String() != "from-archive\n" {
		t.Errorf("archive image: %d %v %q", code, err, buf.String())
	}
}

func tarOf(t *testing.T, name, body string) io.Reader {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
		t.Fatal(err)
	}
	io.WriteString(tw, body) //nolint:errcheck // bytes.Buffer
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return &buf
}

func untar(t *testing.T, r io.Reader) map[string]string {
	t.Helper()
	got := map[string]string{}
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return got
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		got[hdr.Name] = string(b)
	}
}
