package runner_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bottle-dev/bottle/backend"
	"github.com/bottle-dev/bottle/runner"
	"github.com/bottle-dev/bottle/runner/state"
)

// detached launches bottle b detached with agent behaviour a.
func (e *env) detached() string {
	e.t.Helper()
	opts := e.launchOpts("b")
	opts.Detach = true
	res, err := e.r.Apply(e.t.Context(), opts)
	if err != nil {
		e.t.Fatal(err)
	}
	return res.Identity
}

func TestStatus(t *testing.T) {
	e := newEnv(t, basicHCL)
	e.docker.SetAgent(baseImage, blockingAgent("req-1"))
	run := e.detached()
	e.pending(run, 1)
	e.docker.SetAgent(baseImage, exitAgent(0))
	exited := e.detached()
	waitFor(t, "the agent to exit", func() bool { return e.docker.Instance(exited).State() == backend.StateExited })
	e.stateOf("kept-aaaaa", true, true)
	bad := e.stateOf("corrupt-aaaaa", false, false)
	writeFile(t, bad.MetadataPath(), "{not json")
	if err := os.Mkdir(filepath.Join(e.home.StateRoot(), "Not_An_Identity"), 0o700); err != nil {
		t.Fatal(err)
	}

	rows, err := e.r.Status(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]runner.BottleStatus{}
	var order []string
	for _, r := range rows {
		got[r.Identity] = r
		order = append(order, r.Identity)
	}
	if want := []string{"Not_An_Identity"}; !slices.Equal(order[len(order)-1:], want) {
		t.Errorf("rows %q: invalid names come last", order)
	}
	check := func(id, state string, pending int) {
		t.Helper()
		r := got[id]
		if r.State != state || r.PendingRequests != pending {
			t.Errorf("%s: %+v; want %s with %d pending", id, r, state, pending)
		}
	}
	check(run, runner.StatusRunning, 1)
	check(exited, runner.StatusExited, 0)
	check("kept-aaaaa", runner.StatusPreserved, 0)
	check("corrupt-aaaaa", runner.StatusError, 0)
	check("Not_An_Identity", runner.StatusError, 0)
	if r := got[run]; r.Bottle != "b" || r.Agent != "a" || r.Backend != backend.Docker || r.StartedAt.IsZero() {
		t.Errorf("running row %+v", r)
	}
	if r := got["corrupt-aaaaa"]; !strings.Contains(r.Error, "corrupt JSON") {
		t.Errorf("corrupt row error %q", r.Error)
	}
}

func TestRequestsRejectsHostileFiles(t *testing.T) {
	e := newEnv(t, basicHCL)
	one := e.stateOf("one-aaaaa", false, false)
	two := e.stateOf("two-aaaaa", false, false)
	q := one.QueuePath()
	writeFile(t, filepath.Join(q, "good.json"), string(request("good", "ok", "RUN true")))
	writeFile(t, filepath.Join(two.QueuePath(), "other.json"), string(request("other", "ok", "ENV A=1")))
	hostile := map[string]string{
		"bad-json":   "{",
		"wrong-kind": strings.Replace(string(request("wrong-kind", "x", "RUN true")), `"capability"`, `"other"`, 1),
		"from-line":  string(request("from-line", "x", "FROM evil")),
		"heredoc":    string(request("heredoc", "x", "RUN cat <<EOF")),
		"big":        string(request("big", strings.Repeat("x", 70<<10), "RUN true")),
	}
	for id, body := range hostile {
		writeFile(t, filepath.Join(q, id+".json"), body)
	}
	if err := os.Symlink("/etc/passwd", filepath.Join(q, "link.json")); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(q, "bad name!.json"), string(request("x", "x", "RUN true")))

	pending, err := e.r.Requests(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, p := range pending {
		ids = append(ids, p.Identity+"/"+p.Request.ID)
	}
	if want := []string{"one-aaaaa/good", "two-aaaaa/other"}; !slices.Equal(ids, want) {
		t.Errorf("pending %q, want %q", ids, want)
	}
	rejected := e.events.of(runner.EventRejected, "one-aaaaa")
	if len(rejected) != len(hostile)+2 {
		t.Errorf("%d rejections, want %d: %q", len(rejected), len(hostile)+2, rejected)
	}
	for id := range hostile {
		if a := readAnswer(t, one, id); a.Status != state.AnswerRejected || a.Reason == "" {
			t.Errorf("answer to %s: %+v", id, a)
		}
	}
	if exists(filepath.Join(q, "bad name!.json")) {
		t.Error("a request with an unanswerable name was left in the queue")
	}
	// Answered once: a second scan rejects nothing new.
	if _, err := e.r.Requests(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := len(e.events.of(runner.EventRejected, "")); n != len(rejected) {
		t.Errorf("the second scan rejected again (%d events)", n)
	}
}

func TestStop(t *testing.T) {
	e := newEnv(t, basicHCL)
	e.docker.SetAgent(baseImage, blockingAgent())
	id := e.detached()
	running(t, e.docker, id)
	if preserved, err := e.r.Stop(t.Context(), id); err != nil || preserved {
		t.Fatalf("Stop = %v, %v", preserved, err)
	}
	if e.stateDir(id).Exists() || !e.docker.Instance(id).Removed() {
		t.Error("Stop of an unowned bottle left state or its instance")
	}

	// An attached session is torn down; its owner makes the cleanup call.
	ch := e.applyAsync("b")
	owned := e.onlyIdentity()
	running(t, e.docker, owned)
	if preserved, err := e.r.Stop(t.Context(), owned); err != nil || preserved {
		t.Fatalf("Stop of an attached bottle = %v, %v", preserved, err)
	}
	if r := wait(t, ch); r.err != nil || r.res.ExitCode != 137 || r.res.Preserved {
		t.Errorf("the stopped session ended %+v, %v", r.res, r.err)
	}
	if e.stateDir(owned).Exists() {
		t.Error("the stopped session's state was kept")
	}

	kept := e.stateOf("kept-aaaaa", true, true)
	if preserved, err := e.r.Stop(t.Context(), "kept-aaaaa"); err != nil || !preserved || !kept.Exists() {
		t.Errorf("Stop of a preserved bottle = %v, %v; state kept: %v", preserved, err, kept.Exists())
	}
}

func TestDestroy(t *testing.T) {
	e := newEnv(t, basicHCL)
	id := e.approved(e.docker)
	if err := e.r.Destroy(t.Context(), id); err != nil {
		t.Fatal(err)
	}
	if e.stateDir(id).Exists() {
		t.Error("Destroy kept a preserved state dir")
	}
	if err := e.r.Destroy(t.Context(), "none-aaaaa"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Destroy of an unknown identity = %v", err)
	}
	// Destroying an attached session waits for its owner, then removes all.
	e.docker.SetAgent(baseImage, blockingAgent())
	ch := e.applyAsync("b")
	var owned string
	waitFor(t, "the second launch", func() bool {
		ids, _, _ := e.home.Identities()
		owned = ""
		if len(ids) == 1 {
			owned = ids[0]
		}
		return owned != "" && e.docker.Instance(owned) != nil && e.docker.Instance(owned).State() == backend.StateRunning
	})
	if err := e.r.Destroy(t.Context(), owned); err != nil {
		t.Fatal(err)
	}
	wait(t, ch)
	if e.stateDir(owned).Exists() || len(liveInstances(t, e.docker)) != 0 {
		t.Error("Destroy left state or an instance")
	}
}
