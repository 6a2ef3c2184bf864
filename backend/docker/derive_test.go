package docker

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"

	"github.com/bottle-dev/bottle/backend"
)

// TestDerive: a derived image holds what fill copied into a never-started
// scratch container, labelled with its base; asking again reuses it without
// calling fill; a new image of the same family supersedes it; a failed fill
// leaves no image and no container.
func TestDerive(t *testing.T) {
	b := engine(t)
	family := "derive-" + runID
	labels := map[string]string{runLabel: runID, backend.LabelCwd: family}
	derive := func(ref, content string) (bool, int) {
		t.Helper()
		calls := 0
		got, reused, err := b.Derive(t.Context(), backend.Derivation{
			Base: testImage(), Ref: ref, Labels: labels,
			Supersedes: map[string]string{runLabel: runID, backend.LabelCwd: family},
		}, func(ctx context.Context, id string) error {
			calls++
			inst, err := b.Inspect(ctx, id)
			if err != nil || inst.State != backend.StateCreated {
				t.Errorf("fill got %+v (%v), want a created container", inst, err)
			}
			var buf bytes.Buffer
			tw := tar.NewWriter(&buf)
			_ = tw.WriteHeader(&tar.Header{Name: "hello", Mode: 0o640, Size: int64(len(content)), Typeflag: tar.TypeReg})
			_, _ = tw.Write([]byte(content))
			_ = tw.Close()
			return b.CopyIn(ctx, id, "/w", &buf, nil)
		})
		if err != nil || got != ref {
			t.Fatalf("Derive %s = %q, %v", ref, got, err)
		}
		return reused, calls
	}
	first := "bottle-test-derive:a-" + runID
	if reused, calls := derive(first, "one"); reused || calls != 1 {
		t.Errorf("first Derive: reused %v, %d fills; want a fresh image, one fill", reused, calls)
	}
	info, err := b.c.ImageInspect(t.Context(), first)
	if err != nil {
		t.Fatal(err)
	}
	base, err := b.c.ImageInspect(t.Context(), testImage())
	if err != nil {
		t.Fatal(err)
	}
	if l := info.Config.Labels; l[LabelDerivedFrom] != base.ID || l[backend.LabelManaged] != "true" || l[backend.LabelCwd] != family {
		t.Errorf("derived image labels %v", l)
	}
	if reused, calls := derive(first, "two"); !reused || calls != 0 {
		t.Errorf("second Derive: reused %v, %d fills; want the image reused, no fill", reused, calls)
	}

	boom := errors.New("boom")
	_, _, err = b.Derive(t.Context(), backend.Derivation{Base: testImage(), Ref: "bottle-test-derive:c-" + runID, Labels: labels},
		func(context.Context, string) error { return boom })
	if !errors.Is(err, boom) {
		t.Errorf("a failed fill gave %v", err)
	}
	if _, err := b.c.ImageInspect(t.Context(), "bottle-test-derive:c-"+runID); !isNotFound(err) {
		t.Errorf("a failed fill left an image (%v)", err)
	}
	cs, err := b.c.ContainerList(t.Context(), container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", backend.LabelCwd+"="+family))})
	if err != nil || len(cs) != 0 {
		t.Errorf("scratch containers left: %d (%v)", len(cs), err)
	}

	second := "bottle-test-derive:b-" + runID
	if reused, _ := derive(second, "two"); reused {
		t.Error("a new ref was reported reused")
	}
	if _, err := b.c.ImageInspect(t.Context(), first); !isNotFound(err) {
		t.Errorf("the superseded image %s is still there (%v)", first, err)
	}
	if got := runIn(t, b, second, "sh", "-c", "cat /w/hello; stat -c ' %a' /w/hello"); got != "two 640\n" {
		t.Errorf("derived image holds %q", got)
	}

	if _, _, err := b.Derive(t.Context(), backend.Derivation{Base: "bottle-no-such-image:" + runID, Ref: "x:" + runID}, nil); err == nil || !strings.Contains(err.Error(), "bottle-no-such-image") {
		t.Errorf("a missing base gave %v", err)
	}
}
