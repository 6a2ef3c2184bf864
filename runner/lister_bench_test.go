package runner

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/bottle-dev/bottle/backend"
	"github.com/bottle-dev/bottle/backend/fake"
	"github.com/bottle-dev/bottle/runner/state"
)

// BenchmarkListerChange is the in-process part of the dashboard's refresh
// after the file watch named one changed queue, over n generated state
// dirs, with an engine (the fake) that answers at once: what the Lister
// itself costs, without the engine's round trip that BenchmarkList in
// cmd/bottle includes.
func BenchmarkListerChange(b *testing.B) {
	for _, n := range []int{10, 1000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			h := state.Home{Path: b.TempDir()}
			for i := range n {
				d, err := h.Create(fmt.Sprintf("gen-%05d", i))
				if err != nil {
					b.Fatal(err)
				}
				md := &state.Metadata{Bottle: "gen", Agent: "box", Backend: backend.Docker, StartedAt: time.Now()}
				if err := d.WriteMetadata(md); err != nil {
					b.Fatal(err)
				}
			}
			be := fake.New()
			r := &Runner{Home: h, Backend: func(string) (backend.Backend, error) { return be, nil }}
			l := r.NewLister()
			if _, _, err := l.Refresh(b.Context(), nil, true); err != nil {
				b.Fatal(err)
			}
			paths := []string{filepath.Join(h.StateRoot(), "gen-00001", "queue", "r.json")}
			for b.Loop() {
				if _, _, err := l.Refresh(b.Context(), paths, false); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
