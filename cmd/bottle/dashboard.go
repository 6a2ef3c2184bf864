package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync/atomic"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/spf13/cobra"

	"github.com/bottle-dev/bottle/cmd/bottle/dashboard"
	"github.com/bottle-dev/bottle/runner"
	"github.com/bottle-dev/bottle/runner/watch"
)

// dashboardInterval is the period of the backend status check: the file
// watch cannot see an agent exit or a container vanish.
const dashboardInterval = 2 * time.Second

func (a *app) dashboardCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "dashboard",
		Short: "Follow bottles and answer capability requests in a terminal UI",
		Long: `A terminal UI over bottle status and bottle requests: a table of bottles, the
selected bottle's pending request (the exact Dockerfile lines an approval
appends), the tails of its output and audit log, and keys to approve (a),
deny (d), show full logs (l), stop (s), resume a preserved bottle (r), get
help (?) and quit (q). It updates on every change under the state dir and
checks the backends every 2 seconds.

It needs a terminal; scripts use bottle requests, bottle approve and
bottle deny. NO_COLOR turns colour off.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := dashboard.RequireTerminal(a.In, a.Out); err != nil {
				return err
			}
			return a.runDashboard(cmd.Context())
		},
	}
}

func (a *app) runDashboard(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Runner events (a rejected request, resume progress) become messages
	// of the running program: nothing may print over the screen.
	var prog atomic.Pointer[tea.Program]
	r, err := a.runner(runner.ObserverFunc(func(e runner.Event) {
		if p := prog.Load(); p != nil {
			p.Send(e)
		}
	}))
	if err != nil {
		return err
	}
	// The watch needs the root to exist; the first launch would create it
	// anyway, with the same mode.
	root := r.Home.StateRoot()
	if err := os.MkdirAll(root, 0o700); err != nil {
		return fmt.Errorf("create state root: %w", err)
	}
	changes := make(chan []string)
	go func() {
		// A failed watch closes changes; the dashboard says so and keeps
		// polling.
		_ = watch.Run(ctx, root, watch.DefaultOptions, changes)
	}()
	// slog writes to stderr, which is the screen now.
	defer slog.SetDefault(slog.Default())
	slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil)))

	m := dashboard.New(ctx, dashboard.NewSource(r), dashboard.Options{
		Renderer: dashboard.NewRenderer(a.Out, a.getenv("NO_COLOR") != ""),
		Changes:  changes,
		Interval: dashboardInterval,
	})
	p := tea.NewProgram(m, tea.WithContext(ctx), tea.WithInput(a.In), tea.WithOutput(a.Out), tea.WithAltScreen())
	prog.Store(p)
	_, err = p.Run()
	if errors.Is(err, tea.ErrProgramKilled) && ctx.Err() != nil {
		return nil // interrupted: the root command reports it
	}
	if err != nil {
		return fmt.Errorf("dashboard: %w", err)
	}
	return nil
}
