package config

import "testing"

func TestKubernetesBlock(t *testing.T) {
	dir := writeConfig(t, `
agent "a" {
  image = "busybox"
}
bottle "k" {
  agent    = agent.a
  backend  = "kubernetes"
  registry = "127.0.0.1:5000/team"
  kubernetes {
    namespace = "agents"
    context   = "prod"
  }
  cwd {
    copy = true
  }
}
`, nil)
	cfg, diags := Load(dir, Options{Env: noEnv})
	if diags.HasErrors() {
		t.Fatal(renderDiags(t, cfg, diags))
	}
	b := cfg.Bottle("k")
	if b.Backend != BackendKubernetes || b.Registry != "127.0.0.1:5000/team" || b.Kubernetes == nil ||
		b.Kubernetes.Namespace != "agents" || b.Kubernetes.Context != "prod" {
		t.Errorf("bottle %+v, kubernetes %+v", b, b.Kubernetes)
	}
}

// TestKubernetesErrors: a bind-mounted cwd cannot reach a cluster; a bad
// registry and a second kubernetes block are reported where they are.
func TestKubernetesErrors(t *testing.T) {
	dir := writeConfig(t, `
agent "a" {
  image = "busybox"
}
bottle "k" {
  agent    = agent.a
  registry = "https://r.example/x"
  kubernetes {}
  kubernetes {}
}
`, nil)
	_, diags := Load(dir, Options{Env: envMap(map[string]string{BackendEnv: BackendKubernetes})})
	want := map[string]int{"Invalid registry": 7, "Duplicate kubernetes block": 9}
	got := map[string]int{}
	for _, d := range diags {
		got[d.Summary] = d.Subject.Start.Line
	}
	for summary, line := range want {
		if got[summary] != line {
			t.Errorf("%q at line %d, want line %d (all: %v)", summary, got[summary], line, diags)
		}
	}
}

func TestKubernetesBindMountIsAnError(t *testing.T) {
	dir := writeConfig(t, `
agent "a" {
  image = "busybox"
}
bottle "k" {
  agent = agent.a
  cwd {
    copy = false
  }
}
`, nil)
	_, diags := Load(dir, Options{Env: envMap(map[string]string{BackendEnv: BackendKubernetes})})
	if len(diags) != 1 || diags[0].Summary != "A kubernetes bottle cannot mount its cwd" || diags[0].Subject.Start.Line != 7 {
		t.Errorf("copy = false on kubernetes: %v, want one error on the cwd block (line 7)", diags)
	}
	if _, diags := Load(dir, Options{Env: noEnv}); diags.HasErrors() {
		t.Errorf("the same bottle on docker: %v", diags)
	}
}

func TestKubernetesRefusesEgress(t *testing.T) {
	dir := writeConfig(t, `
agent "a" {
  image = "busybox"
}
bottle "k" {
  agent   = agent.a
  backend = "kubernetes"
  egress {
    allow = ["example.com"]
  }
}
`, nil)
	_, diags := Load(dir, Options{Env: noEnv})
	if len(diags) != 1 || diags[0].Summary != "Egress policy not supported on kubernetes" || diags[0].Subject.Start.Line != 8 {
		t.Errorf("egress on kubernetes: %v, want one error on the egress block (line 8)", diags)
	}
}
