package runner_test

import (
	"strings"
	"testing"
)

const egressHCL = `
agent "a" {
  image   = "busybox:latest"
  command = ["run"]
  egress { allow = ["api.example.com"] }
  secret "KEY" {
    value = env("KEY")
    hosts = ["api.example.com"]
  }
}

bottle "b" {
  agent   = agent.a
  backend = "docker"
}
`

// TestEgressFailsClosed: a bottle with an egress policy on a backend that
// cannot enforce it is not launched at all, and leaves nothing behind.
func TestEgressFailsClosed(t *testing.T) {
	e := newEnv(t, egressHCL)
	e.vars["KEY"] = "sk-real"
	res, err := e.r.Apply(t.Context(), e.launchOpts("b"))
	if err == nil || !strings.Contains(err.Error(), "cannot enforce this bottle's egress policy") {
		t.Fatalf("Apply = %+v, %v; want the egress error", res, err)
	}
	if n := len(liveInstances(t, e.docker)); n != 0 {
		t.Errorf("%d instances left", n)
	}
	if ids, _, _ := e.home.Identities(); len(ids) != 0 {
		t.Errorf("state dirs left: %v", ids)
	}
}
