package backend_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImportsFlowDownward enforces the layering of STYLE.md §2 on the
// non-test imports of every package: config knows nothing of runners or
// backends, the runner knows backends only through this package's interface,
// backends never see HCL, only backend/docker talks to the Docker client, and
// only backend/kubernetes to Kubernetes (client-go).
func TestImportsFlowDownward(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, "github.com/bottle-dev/bottle/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	const mod = "github.com/bottle-dev/bottle/"
	rules := []struct {
		pkg       string // prefix of the importing package
		forbidden []string
	}{
		{mod + "config", []string{mod + "runner", mod + "backend", mod + "cmd", "github.com/docker/", "github.com/fsnotify/"}},
		{mod + "runner", []string{mod + "cmd", mod + "backend/docker", mod + "backend/smolvm", mod + "backend/kubernetes", mod + "backend/fake", "github.com/docker/docker/client", "k8s.io/"}},
		{mod + "backend", []string{mod + "config", mod + "runner", mod + "cmd", "github.com/hashicorp/hcl", "github.com/zclconf/go-cty"}},
		{mod + "backend/smolvm", []string{mod + "backend/docker", "github.com/docker/"}},
		{mod + "backend/kubernetes", []string{mod + "backend/docker", mod + "backend/smolvm", "github.com/docker/"}},
		{mod + "backend/buildctx", []string{"github.com/docker/docker/client"}},
	}
	// config may use backend/egress, the policy it parses, because that
	// package is a leaf of the standard library only (checked below).
	const policy = mod + "backend/egress"
	checked := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		pkg, imports := fields[0], fields[1:]
		for _, imp := range imports {
			if pkg == policy && strings.Contains(strings.SplitN(imp, "/", 2)[0], ".") {
				t.Errorf("%s imports %s; it must stay a standard-library leaf that config can use", pkg, imp)
			}
			if imp == "github.com/docker/docker/client" && pkg != mod+"backend/docker" {
				t.Errorf("%s imports the Docker client; only backend/docker may", pkg)
			}
			if strings.HasPrefix(imp, "k8s.io/") && pkg != mod+"backend/kubernetes" {
				t.Errorf("%s imports %s; only backend/kubernetes may use the Kubernetes client", pkg, imp)
			}
		}
		for _, r := range rules {
			if pkg != r.pkg && !strings.HasPrefix(pkg, r.pkg+"/") {
				continue
			}
			checked++
			for _, imp := range imports {
				for _, f := range r.forbidden {
					if imp == policy && !strings.HasPrefix(pkg, mod+"backend") {
						continue
					}
					if (imp == f || strings.HasPrefix(imp, f)) && !strings.HasPrefix(imp, pkg) {
						t.Errorf("%s imports %s, which its layer must not", pkg, imp)
					}
				}
			}
		}
	}
	if checked < 5 {
		t.Fatalf("checked only %d packages; go list output changed?\n%s", checked, out)
	}
}
