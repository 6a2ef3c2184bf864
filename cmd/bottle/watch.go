package main

import (
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/spf13/cobra"

	"github.com/bottle-dev/bottle/runner"
)

func (a *app) watchCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "watch",
		Short: "Resume approved bottles automatically and report new requests",
		Long: `Run until interrupted. When a capability approval writes a preserved bottle's
per-bottle Dockerfile, resume that bottle exactly as bottle resume does, in the
background, with its output in its state dir's agent.log and here, prefixed by
its identity. New capability requests are printed with the commands that answer
them. Ctrl-C tears down the bottles this watch resumed (their state is removed
unless a new approval preserved it) and ends the watch.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// Build progress is shown, prefixed by identity, as a
			// resume by hand shows it.
			r, err := a.runner(&humanObserver{w: a.Err})
			if err != nil {
				return err
			}
			var mu sync.Mutex
			fmt.Fprintf(a.Err, "Watching %s for approvals and requests (Ctrl-C to stop).\n", r.Home.StateRoot())
			err = r.Watch(cmd.Context(), runner.WatchOptions{
				Output: func(id string) io.Writer { return &prefixWriter{mu: &mu, w: a.Out, prefix: id + " | "} },
			})
			if errors.Is(err, runner.ErrWatchRunning) {
				return fmt.Errorf("%w: only one watch runs per BOTTLE_HOME", err)
			}
			return err
		},
	}
}
