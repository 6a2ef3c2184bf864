package runner_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bottle-dev/bottle/backend"
	"github.com/bottle-dev/bottle/backend/egress"
	"github.com/bottle-dev/bottle/backend/fake"
	"github.com/bottle-dev/bottle/runner"
)

const smolEgressHCL = `
agent "a" {
  image   = "busybox:latest"
  command = ["run"]
  egress { allow = ["api.example.com:*", "*.api.example.com:*"] }
}

bottle "b" {
  agent   = agent.a
  backend = "smolmachines"
  egress { allow = ["10.0.0.7:*"] }
}
`

// allowlistFake stands for the smolmachines backend: it enforces the
// allowlist itself, by address.
type allowlistFake struct{ *fake.Backend }

func (allowlistFake) AddressAllowlist(rules []egress.Rule) (egress.AddressAllowlist, error) {
	a, issues := egress.ToAddressAllowlist(rules)
	if len(issues) > 0 {
		return a, errors.New(issues[0].String())
	}
	return a, nil
}

func smolEnv(t *testing.T) *env {
	e := newEnv(t, smolEgressHCL)
	smol := allowlistFake{e.smol}
	e.r.Backend = func(name string) (backend.Backend, error) {
		if name == backend.Smolmachines {
			return smol, nil
		}
		return e.docker, nil
	}
	return e
}

// TestSmolmachinesEgressLaunch: a smolmachines bottle's policy reaches the
// backend's Create as allow rules only (the union of the agent's and the
// bottle's), with no proxy variables and no placeholder; plan shows the
// smolvm flags; approving an egress request fails naming the backend,
// grants nothing and leaves the request pending.
func TestSmolmachinesEgressLaunch(t *testing.T) {
	e := smolEnv(t)
	p, err := e.r.PlanConfig(e.load(), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"--allow-host api.example.com (api.example.com and every name under it, resolved at each start; every port)",
		"--allow-cidr 10.0.0.7/32 (every port)",
	}
	if got := p.Bottles[0].Egress; got == nil || !slices.Equal(got.Smolvm, want) || got.Proxy != "" {
		t.Errorf("plan egress %+v; want smolvm %q and no proxy", got, want)
	}

	e.smol.SetAgent(baseImage, func(ctx context.Context, in *fake.Instance, io backend.IO) int {
		data, _ := json.Marshal(map[string]any{"id": "req-e1", "kind": "egress", "egress": []string{"pypi.org:443"},
			"reason": "install", "created_at": time.Now().UTC().Format(time.RFC3339)})
		if err := in.WriteFile(runner.GuestQueue+"/req-e1.json", data, 0o644); err != nil {
			return 90
		}
		<-ctx.Done()
		return 0
	})
	id := e.detached()
	calls := e.smol.Calls(fake.OpCreate)
	if len(calls) != 1 {
		t.Fatalf("%d creates", len(calls))
	}
	spec := calls[0].Spec
	var got []string
	if spec.Egress != nil {
		for _, r := range spec.Egress.Policy.Allow {
			got = append(got, r.String())
		}
	}
	if w := []string{"api.example.com:*", "*.api.example.com:*", "10.0.0.7:*"}; spec.Egress == nil || !slices.Equal(got, w) || len(spec.Egress.Policy.Secrets) > 0 {
		t.Errorf("Create egress %v; want the rules %v and no secrets", got, w)
	}
	for _, kv := range spec.Env {
		if strings.HasPrefix(strings.ToUpper(kv), "HTTP_PROXY=") || strings.HasPrefix(strings.ToUpper(kv), "HTTPS_PROXY=") {
			t.Errorf("a smolmachines bottle got proxy variable %s", kv)
		}
	}
	e.pending(id, 1)
	_, err = e.r.Approve(t.Context(), id, "req-e1", runner.ApproveOptions{})
	if err == nil || !strings.Contains(err.Error(), "smolmachines backend cannot widen") || !strings.Contains(err.Error(), "pypi.org:443") {
		t.Fatalf("Approve = %v; want the smolmachines error naming the host", err)
	}
	e.pending(id, 1)
	if grants, err := e.stateDir(id).EgressGrants(); err != nil || len(grants) > 0 {
		t.Errorf("grants recorded: %v, %v", grants, err)
	}
}

// TestSmolmachinesEgressRefusedBeforeCreate: a policy the backend would
// widen never reaches Create, even when no plan stopped it.
func TestSmolmachinesEgressRefusedBeforeCreate(t *testing.T) {
	e := smolEnv(t)
	opts := e.launchOpts("b")
	opts.Bottle.Allow[2].Rule = egress.Rule{Host: "10.0.0.7", Port: 443}
	_, err := e.r.Apply(t.Context(), opts)
	if err == nil || !strings.Contains(err.Error(), "not by port") {
		t.Fatalf("Apply = %v; want the address-allowlist error", err)
	}
	if n := len(e.smol.Calls(fake.OpCreate)); n != 0 {
		t.Errorf("%d creates", n)
	}
}
