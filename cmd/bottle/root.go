package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/bottle-dev/bottle/cmd/bottle/internal/termsafe"
	"github.com/bottle-dev/bottle/runner"
	"github.com/bottle-dev/bottle/runner/state"
)

// Exit codes (documented in README.md).
const (
	exitOK          = 0
	exitError       = 1
	exitChanges     = 2 // plan --detailed-exitcode: there is something to apply
	exitFmtChanges  = 3 // fmt --check: a file would change
	exitInterrupted = 130
)

// version is set by the linker for releases.
var version = "0.1.0-dev"

type stdio struct {
	In       io.Reader
	Out, Err io.Writer
}

// app is what every command shares; it is built once per invocation.
type app struct {
	stdio
	getenv   func(string) string
	chdir    string
	logLevel string
	// exit is the code a command asks for when it returns no error.
	exit int
	// interrupted is set once the first signal arrived.
	interrupted atomic.Bool
}

// exitError carries an exit code without a message (the command printed it).
type exitCodeError struct{ code int }

func (e exitCodeError) Error() string { return fmt.Sprintf("exit %d", e.code) }

func run(ctx context.Context, args []string, io stdio, getenv func(string) string) int {
	a := &app{stdio: io, getenv: getenv}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	go func() {
		select {
		case <-sigs:
		case <-ctx.Done():
			return
		}
		// After the first signal, a second one gets Go's default handling
		// and ends the process at once.
		signal.Stop(sigs)
		a.interrupted.Store(true)
		fmt.Fprintln(a.Err, "\nInterrupted, cleaning up (Ctrl-C again to force)")
		cancel()
	}()
	root := a.rootCommand()
	root.SetArgs(args)
	root.SetIn(io.In)
	root.SetOut(io.Out)
	root.SetErr(io.Err)
	err := root.ExecuteContext(ctx)
	var ec exitCodeError
	switch {
	case errors.As(err, &ec):
		return ec.code
	case err != nil:
		a.printError(err)
		if a.interrupted.Load() {
			return exitInterrupted
		}
		return exitError
	case a.interrupted.Load():
		return exitInterrupted
	}
	return a.exit
}

func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "bottle",
		Short: "Run AI coding agents in isolated sandboxes declared in bottle.hcl",
		Long: `bottle runs AI coding agents (Claude Code, or any agent CLI) inside isolated
sandboxes, "bottles", declared in a bottle.hcl checked into your project.

When an agent lacks a capability it files a request; you approve it; the
bottle is rebuilt with it and resumed with its prior conversation.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			return a.setup()
		},
	}
	root.PersistentFlags().StringVar(&a.chdir, "chdir", "", "switch to `DIR` before doing anything (like terraform -chdir)")
	root.PersistentFlags().StringVar(&a.logLevel, "log-level", "", "log level for developers: debug, info, warn, error (default warn, or $BOTTLE_LOG)")
	root.AddCommand(
		a.versionCommand(), a.initCommand(), a.validateCommand(), a.fmtCommand(), a.planCommand(),
		a.applyCommand(), a.resumeCommand(), a.statusCommand("ls"), a.statusCommand("status"),
		a.logsCommand(), a.stopCommand(), a.destroyCommand(), a.gcCommand(),
		a.requestsCommand(), a.approveCommand(), a.denyCommand(), a.watchCommand(),
		a.dashboardCommand(), a.diffCommand(), a.exportCommand(), a.adoptCommand(),
		a.egressProxyCommand(),
	)
	return root
}

func (a *app) setup() error {
	if a.chdir != "" {
		if err := os.Chdir(a.chdir); err != nil {
			return fmt.Errorf("--chdir: %w", err)
		}
	}
	level := a.logLevel
	if level == "" {
		level = a.getenv("BOTTLE_LOG")
	}
	var l slog.Level
	if level == "" {
		l = slog.LevelWarn
	} else if err := l.UnmarshalText([]byte(level)); err != nil {
		return fmt.Errorf("--log-level %q: use debug, info, warn or error", level)
	}
	slog.SetDefault(slog.New(slog.NewTextHandler(a.Err, &slog.HandlerOptions{Level: l})))
	return nil
}

func (a *app) home() (state.Home, error) {
	return state.HomeFromEnv(a.getenv)
}

// runner builds the runner with the real backends wired in.
func (a *app) runner(obs runner.Observer) (*runner.Runner, error) {
	home, err := a.home()
	if err != nil {
		return nil, err
	}
	return &runner.Runner{Home: home, Backend: newBackends(a.getenv).get, Observer: obs}, nil
}

func (a *app) printError(err error) {
	var de *runner.DiagnosticsError
	var ce *runner.ConfigError
	switch {
	case errors.As(err, &de):
		a.printDiagnostics(de.Diags, nil)
	case errors.As(err, &ce):
		a.printDiagnostics(configErrorDiag(ce), nil)
	default:
		// Runtime errors can quote the agent (a build's output, a
		// request's name): print them through termsafe.
		msg := termsafe.Lines(err.Error())
		fmt.Fprintf(a.Err, "Error: %s\n", strings.TrimSpace(msg))
	}
}
