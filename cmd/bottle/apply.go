package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/bottle-dev/bottle/backend"
	"github.com/bottle-dev/bottle/config"
	"github.com/bottle-dev/bottle/runner"
)

func (a *app) applyCommand() *cobra.Command {
	var cf configFlags
	var autoApprove, detach bool
	cmd := &cobra.Command{
		Use:   "apply [NAME...]",
		Short: "Launch bottles",
		Long: `Launch the named bottles (all when none are named). Shows the plan and asks
for confirmation unless --auto-approve. Attached by default: the agent's
terminal is yours and its exit code is bottle's; Ctrl-C tears the bottle down.
When the session ends the state dir is removed, unless a capability approval
preserved it: then bottle prints the bottle resume command instead.`,
		RunE: func(cmd *cobra.Command, names []string) error {
			cfg, vars, err := a.load(&cf)
			if err != nil {
				return err
			}
			bottles, err := runner.Select(cfg, names)
			if err != nil {
				return err
			}
			obs := &humanObserver{w: a.Err}
			r, err := a.runner(obs)
			if err != nil {
				return err
			}
			if !autoApprove {
				p, err := r.PlanConfig(cfg, names)
				if err != nil {
					return err
				}
				renderPlan(a.Out, p)
				if !a.confirm("Launch these bottles? Only 'yes' will be accepted: ") {
					fmt.Fprintln(a.Out, "Apply cancelled.")
					return exitCodeError{exitError}
				}
			}
			return a.launchAll(cmd.Context(), r, cfg, bottles, vars, detach)
		},
	}
	cf.register(cmd)
	cmd.Flags().BoolVar(&autoApprove, "auto-approve", false, "launch without showing the plan and asking")
	cmd.Flags().BoolVarP(&detach, "detach", "d", false, "start the agents in the background and return")
	return cmd
}

func (a *app) confirm(prompt string) bool {
	fmt.Fprint(a.Out, prompt)
	line, _ := bufio.NewReader(a.In).ReadString('\n')
	return strings.TrimSpace(line) == "yes"
}

// launchAll launches each bottle; several attached bottles run side by side
// with their output prefixed by their name.
func (a *app) launchAll(ctx context.Context, r *runner.Runner, cfg *config.Config, bottles []*config.Bottle, vars map[string]string, detach bool) error {
	results := make([]*runner.LaunchResult, len(bottles))
	errs := make([]error, len(bottles))
	var wg sync.WaitGroup
	var mu sync.Mutex
	for i, b := range bottles {
		opts := runner.LaunchOptions{Config: cfg, Bottle: b, Vars: vars, Detach: detach}
		var restore func()
		if len(bottles) == 1 && !detach {
			opts.IO, opts.TTY, restore = a.attachIO(ctx)
		} else {
			pw := &prefixWriter{mu: &mu, w: a.Out, prefix: b.Name + " | "}
			opts.IO = backend.IO{Stdout: pw, Stderr: pw}
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = r.Apply(ctx, opts)
			if restore != nil {
				restore()
			}
		}()
	}
	wg.Wait()
	return a.report(r, results, errs)
}

// report prints how each launch ended and picks the exit code: the agent's,
// or 0 for a bottle a capability approval stopped for its rebuild (the
// README's exit-code table says so).
func (a *app) report(r *runner.Runner, results []*runner.LaunchResult, errs []error) error {
	code := exitOK
	for i, res := range results {
		if res == nil {
			continue
		}
		switch {
		case res.Detached:
			fmt.Fprintf(a.Out, "Launched %s in the background.\n  bottle logs -f %s   follow its output\n  bottle stop %s      end it (its state is removed)\n", res.Identity, res.Identity, res.Identity)
		case res.Preserved && errs[i] == nil:
			// Say which will happen: a running watch resumes it by
			// itself (and the state is gone by the time the operator
			// would type the command), otherwise it is the operator's.
			if r.Home.WatchRunning() {
				fmt.Fprintf(a.Out, "\n%s was stopped for a capability approval; its state is kept.\nThe running bottle watch is rebuilding and resuming it: follow it there.\n", res.Identity)
			} else {
				fmt.Fprintf(a.Out, "\n%s was stopped for a capability approval; its state is kept.\nResume it with:\n  bottle resume %s\n", res.Identity, res.Identity)
			}
		case res.Preserved:
		case res.Interrupted:
		case errs[i] == nil && res.ExitCode != 0 && code == exitOK:
			code = res.ExitCode
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if code != exitOK {
		return exitCodeError{code}
	}
	return nil
}

// attachIO connects the agent to this process's terminal: raw mode and
// resize events when stdin is a terminal, plain streams otherwise.
func (a *app) attachIO(ctx context.Context) (backend.IO, bool, func()) {
	io := backend.IO{Stdout: a.Out, Stderr: a.Err}
	in, ok := a.In.(*os.File)
	if !ok || !term.IsTerminal(int(in.Fd())) {
		return io, false, nil
	}
	io.Stdin = in
	old, err := term.MakeRaw(int(in.Fd()))
	if err != nil {
		return io, false, nil
	}
	resize := make(chan backend.TermSize, 1)
	winch := make(chan os.Signal, 1)
	signal.Notify(winch, syscall.SIGWINCH)
	send := func() {
		if w, h, err := term.GetSize(int(in.Fd())); err == nil {
			select {
			case resize <- backend.TermSize{Rows: uint16(h), Cols: uint16(w)}:
			default:
			}
		}
	}
	send()
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-winch:
				send()
			case <-done:
				return
			case <-ctx.Done():
				return
			}
		}
	}()
	io.Resize = resize
	return io, true, func() {
		signal.Stop(winch)
		close(done)
		_ = term.Restore(int(in.Fd()), old)
	}
}
