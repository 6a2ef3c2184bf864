package main

import (
	"testing"
)

// TestNonRootAgentOwnsItsCopiedWorkspace: on the real engine, an agent
// running as a non-root user can write at the top of a copied workspace
// whose target the image lacks (/workspace, and a deeper /srv/app/work
// whose parents are missing too): the folders made for it are the agent's,
// not root's.
func TestNonRootAgentOwnsItsCopiedWorkspace(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	e.write("bottle.hcl", `
agent "box" {
  image   = "busybox:latest"
  user    = "1000:1000"
  command = ["sh", "-c", <<-EOT
    for d in "$W" /srv/app; do
      echo "$d $(stat -c '%u:%g' "$d")"
    done
    touch "$W/new" && echo wrote-top-of "$W"
    cat "$W/a.txt"
  EOT
  ]
}

bottle "top" {
  agent = agent.box
  env   = { W = "/workspace" }
  cwd {
    path   = "project"
    copy   = true
    target = "/workspace"
    keep   = "none"
  }
}

bottle "deep" {
  agent = agent.box
  env   = { W = "/srv/app/work" }
  cwd {
    path   = "project"
    copy   = true
    target = "/srv/app/work"
    keep   = "none"
  }
}
`)
	e.write("project/a.txt", "from-host")
	top := e.mustRun("apply", "--auto-approve", "top")
	contains(t, "stdout", top.stdout, "/workspace 1000:1000", "wrote-top-of /workspace", "from-host")
	deep := e.mustRun("apply", "--auto-approve", "deep")
	contains(t, "stdout", deep.stdout, "/srv/app/work 1000:1000", "/srv/app 1000:1000", "wrote-top-of /srv/app/work", "from-host")
}
