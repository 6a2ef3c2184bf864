package runner

import (
	"context"
	"runtime"
	"sync"
)

// forEach calls fn(0) … fn(n-1) on a few goroutines (reading state dirs is
// file I/O that overlaps well) and returns once all are done, or ctx's
// error when it ended first (the calls under way still finish).
func forEach(ctx context.Context, n int, fn func(i int)) error {
	workers := min(n, max(4, 2*runtime.GOMAXPROCS(0)))
	next := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := range next {
				fn(i)
			}
		})
	}
	var err error
feed:
	for i := range n {
		select {
		case next <- i:
		case <-ctx.Done():
			err = ctx.Err()
			break feed
		}
	}
	close(next)
	wg.Wait()
	return err
}
