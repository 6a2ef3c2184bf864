package main

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

const hardLinkAgent = `
agent "box" {
  image   = "busybox:latest"
  command = ["sh", "-c", <<-EOT
    echo shared > /workspace/a && ln /workspace/a /workspace/b && mkdir /workspace/d && ln /workspace/a /workspace/d/c
    /run/bottle/bottle-request --reason "a layer" --run "true" --wait
    sleep 300
  EOT
  ]
  resume_command = ["sh", "-c", "[ /workspace/a -ef /workspace/b ] && [ /workspace/a -ef /workspace/d/c ] && echo linked-after-resume"]
}

bottle "links" {
  agent = agent.box
  cwd {
    path = "project"
    copy = true
  }
}
`

// TestHardLinksSurviveTheRebuild: hard links the agent made in its copied
// workspace come out in the approval's snapshot as links, and are links
// again in the resumed bottle.
func TestHardLinksSurviveTheRebuild(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	e.write("bottle.hcl", hardLinkAgent)
	e.write("project/README", "hello\n")
	id, wait := e.applyInBackground()
	e.mustRun("approve", id, e.waitRequest(id).ID)
	if r := wait(); r.code != 0 {
		t.Fatalf("apply: exit %d\n%s", r.code, r.stderr)
	}
	ws := filepath.Join(e.home, "state", id, "workspace")
	var inodes []uint64
	for _, p := range []string{"a", "b", "d/c"} {
		fi, err := os.Lstat(filepath.Join(ws, p))
		if err != nil {
			t.Fatal(err)
		}
		st := fi.Sys().(*syscall.Stat_t)
		inodes = append(inodes, st.Ino)
		if st.Nlink != 3 {
			t.Errorf("snapshot %s has %d links, want 3", p, st.Nlink)
		}
	}
	if inodes[0] != inodes[1] || inodes[0] != inodes[2] {
		t.Errorf("snapshot files are not one inode: %v", inodes)
	}
	r := e.mustRun("resume", id)
	contains(t, "resume stdout", r.stdout, "linked-after-resume")
}
