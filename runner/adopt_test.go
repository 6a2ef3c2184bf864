package runner_test

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2/hclwrite"

	"github.com/bottle-dev/bottle/runner/state"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// approved makes a state dir for identity whose audit log records two
// approvals, at fixed times so that the golden files are stable.
func (e *env) withApprovals(identity, bottle string) {
	e.t.Helper()
	d, err := e.home.Create(identity)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := d.WriteMetadata(&state.Metadata{Bottle: bottle, Agent: "a", ConfigPath: e.cfg, Backend: "docker"}); err != nil {
		e.t.Fatal(err)
	}
	audit := `{"time":"2026-03-01T10:00:00Z","event":"launch","details":{"backend":"docker"}}
{"time":"2026-03-01T10:05:00Z","event":"approval","details":{"request":"req-1","by":"op","reason":"need jq","lines":"RUN apk add --no-cache jq"}}
{"time":"2026-03-02T09:00:00Z","event":"denial","details":{"request":"req-2","by":"op","reason":"no"}}
{"time":"2026-03-02T09:30:00Z","event":"approval","details":{"request":"req-3","by":"op","reason":"need a tool","lines":"RUN mkdir -p /opt/tool\nENV PATH=/opt/tool:$PATH"}}
`
	if err := os.WriteFile(d.Join(state.AuditFile), []byte(audit), 0o600); err != nil {
		e.t.Fatal(err)
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "adopt", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (go test -run %s -update rewrites it):\n got:\n%s\nwant:\n%s", name, t.Name(), got, want)
	}
}

const adoptImageHCL = `# The team's agents.
agent "a" {
  image   = "busybox:latest" # pinned by digest in CI
  command = ["run"]
}

bottle "b" {
  agent = agent.a
}
`

func TestAdoptImageAgent(t *testing.T) {
	e := newEnv(t, adoptImageHCL)
	e.withApprovals("b-abcde", "b")
	ad, err := e.r.Adopt("b-abcde", nil)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "image.diff", ad.Diff())
	if err := ad.Write(); err != nil {
		t.Fatal(err)
	}
	hcl, _ := os.ReadFile(e.cfg)
	if f := hclwrite.Format(hcl); !bytes.Equal(f, hcl) {
		t.Errorf("bottle.hcl is not fmt clean after adopt:\n%s", hcl)
	}
	if !strings.Contains(string(hcl), "# pinned by digest in CI") || !strings.Contains(string(hcl), "# The team's agents.") {
		t.Errorf("comments lost:\n%s", hcl)
	}
	cfg := e.load()
	if a := cfg.Agents["a"]; a.Image != "" || a.Dockerfile != filepath.Join(e.dir, "a.Dockerfile") {
		t.Errorf("after adopt agent a has image %q, dockerfile %q", a.Image, a.Dockerfile)
	}
	// Adopting again: the agent is a Dockerfile agent now, with both
	// requests in it: nothing to add.
	again, err := e.r.Adopt("b-abcde", nil)
	if err != nil || len(again.Edits) != 0 {
		t.Errorf("a second adopt = %+v, %v; want no edits", again, err)
	}
}

func TestAdoptDockerfileAgent(t *testing.T) {
	e := newEnv(t, strings.Replace(adoptImageHCL, `image   = "busybox:latest" # pinned by digest in CI`, `dockerfile = "agent/Dockerfile"`, 1))
	writeFile(t, filepath.Join(e.dir, "agent/Dockerfile"), "FROM busybox:latest\nRUN echo base\n")
	e.withApprovals("b-abcde", "b")
	ad, err := e.r.Adopt("b-abcde", nil)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "dockerfile.diff", ad.Diff())
	before, _ := os.ReadFile(e.cfg)
	if err := ad.Write(); err != nil {
		t.Fatal(err)
	}
	if after, _ := os.ReadFile(e.cfg); !bytes.Equal(before, after) {
		t.Error("adopting into a Dockerfile agent changed bottle.hcl")
	}
	df, _ := os.ReadFile(filepath.Join(e.dir, "agent/Dockerfile"))
	if !strings.HasPrefix(string(df), "FROM busybox:latest\nRUN echo base\n") || !strings.Contains(string(df), "RUN apk add --no-cache jq\n") {
		t.Errorf("Dockerfile after adopt:\n%s", df)
	}
	// The file changed since adopt worked it out: Write refuses.
	ad2, _ := e.r.Adopt("b-abcde", nil)
	if len(ad2.Edits) != 0 {
		t.Errorf("a second adopt edits %d files", len(ad2.Edits))
	}
}

func TestAdoptNeedsAnApproval(t *testing.T) {
	e := newEnv(t, adoptImageHCL)
	d, err := e.home.Create("b-zzzzz")
	if err != nil {
		t.Fatal(err)
	}
	_ = d.WriteMetadata(&state.Metadata{Bottle: "b", ConfigPath: e.cfg})
	_ = d.Audit("launch", nil)
	if _, err := e.r.Adopt("b-zzzzz", nil); err == nil || !strings.Contains(err.Error(), "no capability was approved") {
		t.Errorf("Adopt = %v", err)
	}
}
