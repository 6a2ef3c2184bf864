package runner

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
)

// forEach calls fn(0) … fn(n-1) on a few goroutines (reading state dirs is
// file I/O that overlaps well) and returns once all are done, or ctx's
// error when it ended first (the calls under way still finish). The
// goroutines take the next index from a counter, not a channel, so that a
// thousand quick calls cost no hand-off between goroutines each.
func forEach(ctx context.Context, n int, fn func(i int)) error {
	workers := min(n, max(4, 2*runtime.GOMAXPROCS(0)))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				fn(i)
			}
		})
	}
	wg.Wait()
	if int(next.Load()) < n {
		return ctx.Err()
	}
	return nil
}
