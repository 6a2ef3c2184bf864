package runner_test

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/bottle-dev/bottle/backend"
	"github.com/bottle-dev/bottle/backend/fake"
	"github.com/bottle-dev/bottle/runner"
	"github.com/bottle-dev/bottle/runner/state"
)

// approved launches bottle b attached on be, approves the request its
// agent files, and returns the identity once the session ended preserved.
func (e *env) approved(be *fake.Backend) string {
	e.t.Helper()
	be.SetAgent(baseImage, blockingAgent("req-1"))
	ch := e.applyAsync("b")
	id := e.onlyIdentity()
	e.pending(id, 1)
	if _, err := e.r.Approve(e.t.Context(), id, "req-1", runner.ApproveOptions{}); err != nil {
		e.t.Fatal(err)
	}
	if r := wait(e.t, ch); r.err != nil || !r.res.Preserved {
		e.t.Fatalf("the approved session ended %+v, %v", r.res, r.err)
	}
	return id
}

// seen is what a resumed agent found.
type seen struct {
	resumed, transcript string
	preserved           bool
	md                  *state.Metadata
	files               []string
}

// recordingAgent records what it finds and ends with code.
func (e *env) recordingAgent(s *seen, code int) fake.Agent {
	return func(ctx context.Context, in *fake.Instance, io backend.IO) int {
		d, _ := e.home.Dir(in.Spec().Identity)
		s.resumed = in.Env("BOTTLE_RESUMED")
		data, _ := in.ReadFile(transcriptDir + "/log.txt")
		s.transcript = string(data)
		s.preserved = d.IsPreserved()
		s.md, _ = d.ReadMetadata()
		for _, f := range []string{"/req-1", "/req-2"} {
			if _, err := in.Stat(f); err == nil {
				s.files = append(s.files, f)
			}
		}
		return code
	}
}

func TestResume(t *testing.T) {
	e := newEnv(t, strings.Replace(basicHCL, `backend = "docker"`, `backend = "smolmachines"`, 1))
	id := e.approved(e.smol)
	d := e.stateDir(id)
	md, err := d.ReadMetadata()
	if err != nil || md.Backend != backend.Smolmachines {
		t.Fatalf("metadata %+v, %v", md, err)
	}
	dockerfile, _ := d.ReadDockerfile()
	hash := d.DockerfileHash()
	var s seen
	e.smol.SetAgent(baseImage, e.recordingAgent(&s, 4))

	res, err := e.r.Resume(t.Context(), id, runner.ResumeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Identity != id || res.ExitCode != 4 || res.Preserved || res.Backend != backend.Smolmachines {
		t.Errorf("resume result %+v", res)
	}
	if len(e.docker.Calls()) != 0 {
		t.Errorf("a smolmachines bottle resumed on docker: %v", e.docker.Calls())
	}
	calls := e.smol.Calls(fake.OpCreate)
	if len(calls) != 2 {
		t.Fatalf("%d Create calls on smolmachines, want 2", len(calls))
	}
	spec := calls[1].Spec
	if spec.Identity != id || !slices.Equal(spec.Command, []string{"resume", md.SessionID}) ||
		!slices.Contains(spec.Env, "BOTTLE_SESSION_ID="+md.SessionID) || !strings.HasPrefix(spec.Image, "bottle/"+id) {
		t.Errorf("resumed spec: identity %s command %q image %s env %q", spec.Identity, spec.Command, spec.Image, spec.Env)
	}
	if s.resumed != "1" || s.preserved {
		t.Errorf("the resumed agent saw BOTTLE_RESUMED=%q, preserved=%v; want 1, false (cleared by the launch)", s.resumed, s.preserved)
	}
	if want := "launch " + md.SessionID + " resumed=\n"; s.transcript != want {
		t.Errorf("restored transcript %q, want %q", s.transcript, want)
	}
	if !slices.Equal(s.files, []string{"/req-1"}) {
		t.Errorf("the per-bottle image has %v, want the approved RUN's /req-1", s.files)
	}
	if s.md == nil || s.md.Launches != 2 || s.md.DockerfileHash != hash || s.md.BaseImage != baseImage {
		t.Errorf("metadata of the resume %+v", s.md)
	}
	builds := perBottleBuilds(e.smol.Builds(), id)
	if len(builds) != 1 || builds[0].Content != dockerfile || builds[0].Labels[backend.LabelHome] != e.home.ID() {
		t.Errorf("builds %+v, want the per-bottle Dockerfile, labelled with the home", builds)
	}
	// The leftover marker was cleared, so a normal end cleans up.
	if d.Exists() {
		t.Error("the state dir outlived the resumed session's normal end")
	}
	if got := e.events.of(runner.EventResume, id); !slices.Equal(got, []string{backend.Smolmachines}) {
		t.Errorf("resume events %q", got)
	}
}

// TestResumeWithoutBackendIsDocker: metadata with no backend field (older
// files) resumes on docker, whatever bottle.hcl says now.
func TestResumeWithoutBackendIsDocker(t *testing.T) {
	e := newEnv(t, strings.Replace(basicHCL, `backend = "docker"`, `backend = "smolmachines"`, 1))
	id := e.approved(e.smol)
	d := e.stateDir(id)
	var raw map[string]any
	data, _ := os.ReadFile(d.MetadataPath())
	if err := json.Unmarshal(data, &raw); err != nil {
		t.Fatal(err)
	}
	delete(raw, "backend")
	if err := state.WriteJSONAtomic(d.MetadataPath(), raw, 0o600); err != nil {
		t.Fatal(err)
	}
	e.docker.SetAgent(baseImage, exitAgent(0))
	res, err := e.r.Resume(t.Context(), id, runner.ResumeOptions{})
	if err != nil || res.Backend != backend.Docker {
		t.Fatalf("Resume = %+v, %v", res, err)
	}
	if creates(e.docker, id) != 1 || creates(e.smol, id) != 1 {
		t.Errorf("creates: docker %d, smolmachines %d; want the resume on docker", creates(e.docker, id), creates(e.smol, id))
	}
}

func TestResumeRefusesARunningBottle(t *testing.T) {
	e := newEnv(t, basicHCL)
	e.docker.SetAgent(baseImage, blockingAgent())
	e.applyAsync("b") // attached: this process owns it
	id := e.onlyIdentity()
	running(t, e.docker, id)
	if _, err := e.r.Resume(t.Context(), id, runner.ResumeOptions{}); !errors.Is(err, runner.ErrAlreadyRunning) {
		t.Errorf("Resume of an attached running bottle = %v", err)
	}
	opts := e.launchOpts("b")
	opts.Detach = true // no owner: the engine says it runs
	res, err := e.r.Apply(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	running(t, e.docker, res.Identity)
	if _, err := e.r.Resume(t.Context(), res.Identity, runner.ResumeOptions{}); !errors.Is(err, runner.ErrAlreadyRunning) {
		t.Errorf("Resume of a detached running bottle = %v", err)
	}
	if creates(e.docker, id) != 1 || creates(e.docker, res.Identity) != 1 {
		t.Error("a refused resume created an instance")
	}
	if _, err := e.r.Resume(t.Context(), "gone-aaaaa", runner.ResumeOptions{}); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Resume with no state = %v", err)
	}
}

// TestResumeBuildFailureKeepsState: a per-bottle build that fails leaves
// the state preserved, so the operator can fix it and resume again.
func TestResumeBuildFailureKeepsState(t *testing.T) {
	e := newEnv(t, basicHCL)
	id := e.approved(e.docker)
	broken := true
	e.docker.Hook(fake.OpEnsureImage, func(c fake.Call) error {
		if broken && c.Image.Tag != "" {
			return errors.New("RUN failed")
		}
		return nil
	})
	if _, err := e.r.Resume(t.Context(), id, runner.ResumeOptions{}); err == nil || !strings.Contains(err.Error(), "RUN failed") {
		t.Fatalf("Resume with a failing build = %v", err)
	}
	d := e.stateDir(id)
	if !d.Exists() || !d.IsPreserved() || !d.HasDockerfile() || !exists(d.Join(state.TranscriptDir)) {
		t.Fatal("a failed resume lost the preserved state")
	}
	if creates(e.docker, id) != 1 {
		t.Error("a failed build still created an instance")
	}
	broken = false
	e.docker.SetAgent(baseImage, exitAgent(0))
	if _, err := e.r.Resume(t.Context(), id, runner.ResumeOptions{}); err != nil {
		t.Fatalf("Resume once the build works: %v", err)
	}
}

func TestResumeOnlyIfReady(t *testing.T) {
	e := newEnv(t, basicHCL)
	id := e.approved(e.docker)
	d := e.stateDir(id)
	// A session that ends preserved with the Dockerfile it was built from
	// has nothing new to resume.
	e.docker.SetAgent(baseImage, func(ctx context.Context, in *fake.Instance, io backend.IO) int {
		if err := d.MarkPreserved(); err != nil {
			return 1
		}
		return 0
	})
	res, err := e.r.Resume(t.Context(), id, runner.ResumeOptions{OnlyIfReady: true})
	if err != nil || !res.Preserved {
		t.Fatalf("ready resume = %+v, %v", res, err)
	}
	if _, err := e.r.Resume(t.Context(), id, runner.ResumeOptions{OnlyIfReady: true}); !errors.Is(err, runner.ErrNotReady) {
		t.Errorf("OnlyIfReady with nothing new approved = %v, want ErrNotReady", err)
	}
	if creates(e.docker, id) != 2 {
		t.Errorf("%d launches, want 2", creates(e.docker, id))
	}
}

// TestApproveAgain: the second approval's Dockerfile is the first plus the
// new lines, and the next resume builds both.
func TestApproveAgain(t *testing.T) {
	e := newEnv(t, basicHCL)
	id := e.approved(e.docker)
	d := e.stateDir(id)
	first, _ := d.ReadDockerfile()
	e.docker.SetAgent(baseImage, blockingAgent("req-2"))
	ch := e.resumeAsync(id)
	e.pending(id, 1)
	if _, err := e.r.Approve(t.Context(), id, "req-2", runner.ApproveOptions{}); err != nil {
		t.Fatal(err)
	}
	if r := wait(t, ch); r.err != nil || !r.res.Preserved {
		t.Fatalf("second session = %+v, %v", r.res, r.err)
	}
	second, _ := d.ReadDockerfile()
	if want := first + "\n# req-2: need req-2\nRUN echo req-2 > /req-2\n"; second != want {
		t.Errorf("second Dockerfile:\n%s\nwant:\n%s", second, want)
	}
	var s seen
	e.docker.SetAgent(baseImage, e.recordingAgent(&s, 0))
	if _, err := e.r.Resume(t.Context(), id, runner.ResumeOptions{}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(s.files, []string{"/req-1", "/req-2"}) {
		t.Errorf("the third launch's image has %v, want both approved lines' files", s.files)
	}
	if n := strings.Count(s.transcript, "launch "); n != 2 {
		t.Errorf("transcript of the third launch %q: want both earlier launches", s.transcript)
	}
	builds := perBottleBuilds(e.docker.Builds(), id)
	if len(builds) != 2 || builds[0].Content != first || builds[1].Content != second {
		t.Errorf("builds %+v: want the first, then the second Dockerfile", builds)
	}
}

// perBottleBuilds are the builds of identity's per-bottle image, without the
// labelled base an approval builds.
func perBottleBuilds(builds []fake.Build, identity string) []fake.Build {
	var out []fake.Build
	for _, b := range builds {
		if b.Ref == "bottle/"+identity {
			out = append(out, b)
		}
	}
	return out
}
