package backendtest

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/bottle-dev/bottle/backend"
)

func testStartLogs(h *harness) {
	spec := h.spec("sh", "-c", "echo detached; echo to-stderr >&2; exit 3")
	inst := h.create(spec)
	h.must(h.b.Start(h.ctx, inst.ID), "Start")
	h.waitState(inst.ID, backend.StateExited)
	got, err := h.b.Inspect(h.ctx, backend.InstanceName(spec.Identity))
	h.must(err, "Inspect by name")
	if got.ID != inst.ID || got.State != backend.StateExited || got.ExitCode != 3 ||
		got.Identity != spec.Identity || got.Bottle != spec.Bottle || got.Agent != spec.Agent ||
		got.Labels[backend.LabelManaged] != "true" || got.CreatedAt.IsZero() {
		h.t.Errorf("Inspect = %+v", got)
	}
	var logs bytes.Buffer
	h.must(h.b.Logs(h.ctx, inst.ID, false, &logs), "Logs")
	if !strings.Contains(logs.String(), "detached\n") || !strings.Contains(logs.String(), "to-stderr\n") {
		h.t.Errorf("Logs = %q, want both streams", logs.String())
	}
}

func testLogsFollow(h *harness) {
	inst := h.create(h.spec("sh", "-c", "echo a; sleep 1; echo b"))
	h.must(h.b.Start(h.ctx, inst.ID), "Start")
	var logs bytes.Buffer
	// Returns only when the agent ends, with everything it printed.
	h.must(h.b.Logs(h.ctx, inst.ID, true, &logs), "Logs -f")
	if logs.String() != "a\nb\n" {
		h.t.Errorf("followed logs = %q, want %q", logs.String(), "a\nb\n")
	}
}

// testHalt: Halt ends a running agent within the stop timeout and keeps
// the instance; halting it again is not an error.
func testHalt(h *harness) {
	inst := h.create(h.spec("sleep", "600"))
	h.must(h.b.Start(h.ctx, inst.ID), "Start")
	h.waitState(inst.ID, backend.StateRunning)

	start := time.Now()
	h.must(h.b.Halt(h.ctx, inst.ID), "Halt")
	if d := time.Since(start); d > 20*time.Second {
		h.t.Errorf("Halt took %v", d)
	}
	if got := h.waitState(inst.ID, backend.StateExited); got.State != backend.StateExited {
		h.t.Errorf("after Halt: %q", got.State)
	}
	h.must(h.b.Halt(h.ctx, inst.ID), "Halt of a halted bottle")
	if _, err := h.b.Inspect(h.ctx, inst.ID); err != nil {
		h.t.Errorf("Inspect after Halt = %v: the instance must be kept", err)
	}
}

func testRemove(h *harness) {
	spec := h.spec("sleep", "600")
	inst := h.create(spec)
	name := backend.InstanceName(spec.Identity)
	h.must(h.b.Start(h.ctx, inst.ID), "Start")
	h.must(h.b.Remove(h.ctx, inst.ID), "Remove of a running bottle")
	for _, id := range []string{inst.ID, name} {
		if _, err := h.b.Inspect(h.ctx, id); !errors.Is(err, backend.ErrNotFound) {
			h.t.Errorf("Inspect(%s) after Remove = %v, want ErrNotFound", id, err)
		}
	}
	h.must(h.b.Remove(h.ctx, inst.ID), "second Remove")
	h.must(h.b.Remove(h.ctx, name), "Remove by name of a removed bottle")
	list, err := h.b.List(h.ctx, map[string]string{backend.LabelIdentity: spec.Identity})
	h.must(err, "List")
	if len(list) != 0 {
		h.t.Errorf("List after Remove = %+v", list)
	}
	// Every resource of the identity is gone, not only the instance.
	left, err := h.b.Leftovers(h.ctx)
	h.must(err, "Leftovers")
	for _, r := range left {
		if r.Identity == spec.Identity {
			h.t.Errorf("Remove left %+v", r)
		}
	}
}

func testNotFound(h *harness) {
	missing := backend.InstanceName(h.identity())
	h.must(h.b.Remove(h.ctx, missing), "Remove of a bottle that never existed")
	checks := map[string]func() error{
		"Inspect": func() error { _, err := h.b.Inspect(h.ctx, missing); return err },
		"Start":   func() error { return h.b.Start(h.ctx, missing) },
		"Halt":    func() error { return h.b.Halt(h.ctx, missing) },
		"Logs":    func() error { return h.b.Logs(h.ctx, missing, false, &bytes.Buffer{}) },
		"CopyOut": func() error { return h.b.CopyOut(h.ctx, missing, "/tmp", &bytes.Buffer{}) },
	}
	for op, call := range checks {
		if err := call(); !errors.Is(err, backend.ErrNotFound) {
			h.t.Errorf("%s of a missing bottle = %v, want ErrNotFound", op, err)
		}
	}
}

func testList(h *harness) {
	const key = "dev.bottle.test-list"
	val := randomBase36(8)
	var listed []string
	for range 2 {
		spec := h.spec("true")
		spec.Labels[key] = val
		h.create(spec)
		listed = append(listed, spec.Identity)
	}
	other := h.create(h.spec("true"))

	got, err := h.b.List(h.ctx, map[string]string{key: val})
	h.must(err, "List")
	var ids []string
	for _, inst := range got {
		ids = append(ids, inst.Identity)
		if inst.Bottle != "conformance" || inst.Agent != "shell" || inst.Name != backend.InstanceName(inst.Identity) ||
			inst.State != backend.StateCreated || inst.Labels[key] != val {
			h.t.Errorf("listed %+v", inst)
		}
	}
	slices.Sort(ids)
	slices.Sort(listed)
	if !slices.Equal(ids, listed) {
		h.t.Errorf("List by label = %q, want %q", ids, listed)
	}
	one, err := h.b.List(h.ctx, map[string]string{backend.LabelIdentity: other.Identity})
	h.must(err, "List by identity")
	if len(one) != 1 || one[0].ID != other.ID {
		h.t.Errorf("List by identity = %+v, want only %s", one, other.ID)
	}
}

func testDuplicateCreate(h *harness) {
	spec := h.spec("sh", "-c", "exit 4")
	first := h.create(spec)
	// No cleanup for the duplicate: its name is the first bottle's.
	_, err := h.b.Create(h.ctx, spec)
	if !errors.Is(err, backend.ErrConflict) {
		h.t.Fatalf("second Create of %s = %v, want ErrConflict", spec.Identity, err)
	}
	// The failed Create must not have taken anything of the first bottle's.
	h.must(h.b.Start(h.ctx, first.ID), "Start the first bottle")
	if got := h.waitState(first.ID, backend.StateExited); got.ExitCode != 4 {
		h.t.Errorf("first bottle after a duplicate Create: exit %d, want 4", got.ExitCode)
	}
}
