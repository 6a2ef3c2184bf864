package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const adoptAgent = `# Agents of this project.
agent "box" {
  image   = "busybox:latest" # the team's base
  command = ["sh", "-c", <<-EOT
    if command -v newtool >/dev/null; then newtool; exit 0; fi
    /run/bottle/bottle-request --reason "need newtool" --run "printf '#!/bin/sh\necho newtool works\n' > /usr/local/bin/newtool && chmod +x /usr/local/bin/newtool"
    echo filed-request
    sleep 300
  EOT
  ]
}

bottle "adopter" {
  agent = agent.box
}
`

// TestApproveAdoptThenApplyHasTheCapability: approve --adopt carries the
// approved lines into the project (bottle.hcl switched to a generated
// Dockerfile, comments kept); plan then builds the agent image, and the
// next apply starts with the capability and files no request.
func TestApproveAdoptThenApplyHasTheCapability(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	e.write("bottle.hcl", adoptAgent)
	contains(t, "plan before", e.mustRun("plan").stdout, "use busybox:latest")

	r := e.mustRun("apply", "--auto-approve", "--detach")
	id := identities(r.stderr)[0]
	req := e.waitRequest(id)

	// Nothing is approved yet: nothing to adopt.
	if pre := e.run("adopt", id); pre.code == 0 || !strings.Contains(pre.stderr, "no capability was approved") {
		t.Errorf("adopt before any approval: exit %d\n%s", pre.code, pre.stderr)
	}
	ap := e.mustRun("approve", id, req.ID, "--adopt")
	contains(t, "approve --adopt", ap.stdout, "+++ b/box.Dockerfile", "+FROM busybox:latest",
		"+# bottle request "+req.ID, "need newtool", `+  dockerfile = "box.Dockerfile" # the team's base`)
	hcl, _ := os.ReadFile(filepath.Join(e.dir, "bottle.hcl"))
	contains(t, "bottle.hcl", string(hcl), "# Agents of this project.", `dockerfile = "box.Dockerfile"`)
	e.mustRun("fmt", "--check")
	e.mustRun("destroy", id)

	contains(t, "plan after", e.mustRun("plan").stdout, "build bottle-agent", "box.Dockerfile")
	run := e.mustRun("apply", "--auto-approve")
	contains(t, "apply after adopt", run.stdout, "newtool works")
	if strings.Contains(run.stdout, "filed-request") || strings.Contains(run.stderr, "capability request") {
		t.Errorf("the adopted bottle asked again:\n%s\n%s", run.stdout, run.stderr)
	}
}
