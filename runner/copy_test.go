package runner_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/bottle-dev/bottle/backend"
	"github.com/bottle-dev/bottle/backend/fake"
	"github.com/bottle-dev/bottle/runner"
)

// copyHCL is a bottle that copies its cwd (minus node_modules) into
// /workspace, run as user (none when "").
func copyHCL(user string) string {
	u := ""
	if user != "" {
		u = fmt.Sprintf("user = %q", user)
	}
	return `
agent "a" {
  image          = "busybox:latest"
  command        = ["run"]
  resume_command = ["resume"]
  transcript     = "/home/agent/.t"
  ` + u + `
}

bottle "b" {
  agent   = agent.a
  backend = "docker"
  cwd {
    copy    = true
    exclude = ["node_modules"]
  }
}
`
}

// project fills the env's project folder beside its bottle.hcl.
func (e *env) project() {
	writeFile(e.t, filepath.Join(e.dir, "main.go"), "package main\n")
	writeFile(e.t, filepath.Join(e.dir, "sub/data.txt"), "data\n")
	writeFile(e.t, filepath.Join(e.dir, "node_modules/big.js"), "excluded\n")
	if err := os.Symlink("main.go", filepath.Join(e.dir, "link")); err != nil {
		e.t.Fatal(err)
	}
}

// snapshotAgent records the workspace as the agent found it.
func snapshotAgent(files *[]fake.File, err *error) fake.Agent {
	return func(ctx context.Context, in *fake.Instance, io backend.IO) int {
		*files, *err = in.Walk("/workspace")
		return 0
	}
}

func TestCopyMode(t *testing.T) {
	e := newEnv(t, copyHCL(""))
	e.project()
	var files []fake.File
	var werr error
	e.docker.SetAgent(baseImage, snapshotAgent(&files, &werr))
	res, err := e.r.Apply(t.Context(), e.launchOpts("b"))
	if err != nil || werr != nil {
		t.Fatalf("apply: %v; walk: %v", err, werr)
	}
	var names []string
	for _, f := range files {
		names = append(names, strings.TrimPrefix(f.Path, "/workspace/"))
	}
	want := []string{"bottle.hcl", "link", "main.go", "sub", "sub/data.txt"}
	if !slices.Equal(names, want) {
		t.Errorf("workspace holds %q, want %q (node_modules excluded)", names, want)
	}
	in := e.docker.Instance(res.Identity)
	if data, err := in.ReadFile("/workspace/sub/data.txt"); err != nil || string(data) != "data\n" {
		t.Errorf("copied file: %q, %v", data, err)
	}
	if fi, err := in.Lstat("/workspace/link"); err != nil || fi.Link != "main.go" {
		t.Errorf("copied symlink: %+v, %v", fi, err)
	}
	for _, m := range e.docker.Calls(fake.OpCreate)[0].Spec.Mounts {
		if m.Target == "/workspace" {
			t.Errorf("a copied cwd is also mounted: %+v", m)
		}
	}
	if c := copiesInto(e.docker, in.ID()); len(c) != 1 || c[0].Path != "/workspace" {
		t.Errorf("CopyIn calls into the bottle %+v", c)
	}

	// The launch cached the cwd: the next one starts from that image and
	// copies nothing into its bottle, yet finds the same workspace.
	files = nil
	res2, err := e.r.Apply(t.Context(), e.launchOpts("b"))
	if err != nil || werr != nil {
		t.Fatalf("second apply: %v; walk: %v", err, werr)
	}
	in2 := e.docker.Instance(res2.Identity)
	if c := copiesInto(e.docker, in2.ID()); len(c) != 0 {
		t.Errorf("the second launch of an unchanged cwd copied it: %+v", c)
	}
	if img := e.docker.Calls(fake.OpCreate)[1].Spec.Image; !strings.HasPrefix(img, "bottle-cwd:") {
		t.Errorf("the second launch started from %s, want a bottle-cwd image", img)
	}
	var names2 []string
	for _, f := range files {
		names2 = append(names2, strings.TrimPrefix(f.Path, "/workspace/"))
	}
	if !slices.Equal(names2, want) {
		t.Errorf("workspace of the second launch holds %q, want %q", names2, want)
	}
}

// copiesInto returns the CopyIn calls into the instance id.
func copiesInto(be *fake.Backend, id string) []fake.Call {
	var out []fake.Call
	for _, c := range be.Calls(fake.OpCopyIn) {
		if c.ID == id {
			out = append(out, c)
		}
	}
	return out
}

// TestCwdCacheSkipsAFolderThatChanged: a folder that changes while it is
// being cached is not cached (the image would not hold what its key says);
// the launch itself is not affected, and the next one copies again.
func TestCwdCacheSkipsAFolderThatChanged(t *testing.T) {
	e := newEnv(t, copyHCL(""))
	e.project()
	e.docker.SetAgent(baseImage, exitAgent(0))
	n := 0
	e.docker.Hook(fake.OpCopyIn, func(c fake.Call) error {
		for _, in := range e.docker.Instances() {
			if in.ID() == c.ID {
				return nil // a bottle's own copy
			}
		}
		// The scratch instance of the cache: the folder changes while
		// it is copied there.
		n++
		writeFile(t, filepath.Join(e.dir, "sub/data.txt"), fmt.Sprintf("changed meanwhile %d\n", n))
		return nil
	})
	var mu sync.Mutex
	var warnings []string
	e.r.Observer = runner.ObserverFunc(func(ev runner.Event) {
		mu.Lock()
		defer mu.Unlock()
		if ev.Type == runner.EventWarning {
			warnings = append(warnings, ev.Message)
		}
	})
	for range 2 {
		res, err := e.r.Apply(t.Context(), e.launchOpts("b"))
		if err != nil {
			t.Fatal(err)
		}
		in := e.docker.Instance(res.Identity)
		if c := copiesInto(e.docker, in.ID()); len(c) != 1 {
			t.Errorf("launch %s: %d copies into the bottle, want 1 (nothing cached)", res.Identity, len(c))
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(warnings) != 2 || !strings.Contains(warnings[0], "changed while it was copied") {
		t.Errorf("warnings %q, want the folder changed, twice", warnings)
	}
	if n != 2 {
		t.Errorf("%d copies into a cache's scratch instance, want 2", n)
	}
}

// TestCopyModeOwner: with a numeric user every copied entry is owned by
// that uid:gid, so a non-root agent can write its workspace.
func TestCopyModeOwner(t *testing.T) {
	for _, c := range []struct {
		user     string
		uid, gid int
	}{
		{"1000", 1000, 1000},
		{"1000:2000", 1000, 2000},
		{"agent", 1234, 1235},
		{"agent:staff", 1234, 50},
	} {
		t.Run(c.user, func(t *testing.T) {
			e := newEnv(t, copyHCL(c.user))
			e.project()
			e.docker.AddImage(baseImage, map[string]string{
				"/etc/passwd": "root:x:0:0::/root:/bin/sh\nagent:x:1234:1235::/home/agent:/bin/sh\n",
				"/etc/group":  "root:x:0:\nstaff:x:50:\n",
			})
			var files []fake.File
			var werr error
			e.docker.SetAgent(baseImage, snapshotAgent(&files, &werr))
			if _, err := e.r.Apply(t.Context(), e.launchOpts("b")); err != nil || werr != nil {
				t.Fatalf("apply: %v; walk: %v", err, werr)
			}
			if len(files) != 5 {
				t.Fatalf("workspace %+v", files)
			}
			for _, f := range files {
				if f.UID != c.uid || f.GID != c.gid {
					t.Errorf("%s is owned by %d:%d, want %d:%d", f.Path, f.UID, f.GID, c.uid, c.gid)
				}
			}
			// A named user costs a read of the instance's /etc.
			named := !strings.ContainsAny(c.user[:1], "0123456789")
			etc := 0
			for _, c := range e.docker.Calls(fake.OpCopyOut) {
				if strings.HasPrefix(c.Path, "/etc") {
					etc++
				}
			}
			if got := etc > 0; got != named {
				t.Errorf("CopyOut of /etc: %v, want %v", got, named)
			}
		})
	}
}

func TestCopyModeUnknownUser(t *testing.T) {
	e := newEnv(t, copyHCL("nobody"))
	e.docker.AddImage(baseImage, map[string]string{"/etc/passwd": "root:x:0:0::/root:/bin/sh\n"})
	e.docker.SetAgent(baseImage, exitAgent(0))
	_, err := e.r.Apply(t.Context(), e.launchOpts("b"))
	if err == nil || !strings.Contains(err.Error(), `user "nobody" is not in the image's /etc/passwd`) {
		t.Fatalf("Apply = %v", err)
	}
	if ids, _, _ := e.home.Identities(); len(ids) != 0 || len(liveInstances(t, e.docker)) != 0 {
		t.Errorf("a failed copy left state %v or an instance", ids)
	}
}
