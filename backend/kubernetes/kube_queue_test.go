package kubernetes

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bottle-dev/bottle/backend"
)

// TestSyncQueueDetached: the queue of a detached bottle is mirrored by
// SyncQueue alone (no attached Run): a request goes to the host, links and
// other names do not, and the host's answer reaches the agent.
func TestSyncQueueDetached(t *testing.T) {
	b, images := needCluster(t)
	img := testImage(t, b, images)
	host := t.TempDir()
	script := `q=/run/bottle/queue
printf '{"id":"req-1"}' > $q/req-1.json
ln -s /etc/passwd $q/link.json
printf x > $q/.tmp-req-2.json
printf x > "$q/bad name.json"
mkdir $q/dir.json
while [ ! -f $q/req-1.answer.json ]; do sleep 0.1; done
echo "answer: $(cat $q/req-1.answer.json)"`
	id := "sq-" + strings.ToLower(strings.ReplaceAll(time.Now().Format("150405.000"), ".", ""))
	inst, err := b.Create(t.Context(), backend.Spec{
		Identity: id, Bottle: "sq", Agent: "sh", Image: img,
		Command: []string{"sh", "-c", script},
		Mounts:  []backend.Mount{{Source: host, Target: "/run/bottle/queue"}},
		Labels:  map[string]string{runLabel: runID},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Remove(t.Context(), inst.ID) })
	if err := b.Start(t.Context(), inst.ID); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		res, err := b.SyncQueue(t.Context(), inst.ID, host)
		if err != nil {
			t.Fatalf("SyncQueue: %v", err)
		}
		if data, err := os.ReadFile(filepath.Join(host, "req-1.json")); err == nil {
			if string(data) != `{"id":"req-1"}` || res.Copied == 0 {
				t.Fatalf("host req-1.json = %q after copying %d", data, res.Copied)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the request never reached the host")
		}
	}
	entries, _ := os.ReadDir(host)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if len(names) != 1 {
		t.Errorf("host queue holds %v; want only req-1.json", names)
	}
	if _, err := b.SyncQueue(t.Context(), inst.ID, filepath.Join(host, "other")); err == nil {
		t.Error("SyncQueue with a directory that is not the bottle's mount did not fail")
	}
	if err := os.WriteFile(filepath.Join(host, "req-1.answer.json"), []byte(`{"status":"approved"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := b.SyncQueue(t.Context(), inst.ID, host)
	if err != nil || res.Copied != 1 {
		t.Fatalf("SyncQueue of the answer: %+v, %v; want 1 copied", res, err)
	}
	for {
		inst, err := b.Inspect(t.Context(), inst.ID)
		if err != nil {
			t.Fatal(err)
		}
		if inst.State == backend.StateExited {
			break
		}
		if time.Now().After(deadline.Add(30 * time.Second)) {
			t.Fatal("the agent never saw its answer")
		}
		_, _ = b.SyncQueue(t.Context(), inst.ID, host)
	}
	var logs bytes.Buffer
	if err := b.Logs(t.Context(), inst.ID, false, &logs); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), `answer: {"status":"approved"}`) {
		t.Errorf("agent output %q; want the answer", logs.String())
	}
	if res, err := b.SyncQueue(t.Context(), inst.ID, host); err != nil || !res.Ended {
		t.Errorf("SyncQueue after the agent ended: %+v, %v; want Ended", res, err)
	}
}
