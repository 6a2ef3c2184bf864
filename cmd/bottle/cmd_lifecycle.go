package main

import (
	"bufio"
	"fmt"
	"time"

	"github.com/docker/go-units"
	"github.com/spf13/cobra"

	"github.com/bottle-dev/bottle/backend"
	"github.com/bottle-dev/bottle/cmd/bottle/internal/termsafe"
	"github.com/bottle-dev/bottle/runner"
)

func (a *app) resumeCommand() *cobra.Command {
	var detach bool
	cmd := &cobra.Command{
		Use:   "resume IDENTITY",
		Short: "Relaunch a preserved bottle with its new capability and prior conversation",
		Long: `Relaunch a preserved bottle, pinned to its identity, on the backend recorded in
its metadata: built from its per-bottle Dockerfile, with its transcript (and,
in copy mode, its workspace) restored, running the agent's resume_command with
BOTTLE_RESUMED=1.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := a.runner(&humanObserver{w: a.Err})
			if err != nil {
				return err
			}
			opts := runner.ResumeOptions{Detach: detach}
			var restore func()
			if !detach {
				opts.IO, opts.TTY, restore = a.attachIO(cmd.Context())
			}
			res, err := r.Resume(cmd.Context(), args[0], opts)
			if restore != nil {
				restore()
			}
			return a.report(r, []*runner.LaunchResult{res}, []error{err})
		},
	}
	cmd.Flags().BoolVarP(&detach, "detach", "d", false, "start the agent in the background and return")
	return cmd
}

func (a *app) statusCommand(name string) *cobra.Command {
	var asJSON, results bool
	cmd := &cobra.Command{
		Use:   name,
		Short: "List every bottle: state, backend, pending requests, age",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if results {
				return a.writeResults(a.Out)
			}
			r, err := a.runner(nil)
			if err != nil {
				return err
			}
			list, err := r.Status(cmd.Context())
			if err != nil {
				return err
			}
			if asJSON {
				if list == nil {
					list = []runner.BottleStatus{}
				}
				return writeJSON(a.Out, map[string]any{"format_version": "1", "bottles": list})
			}
			if len(list) == 0 {
				fmt.Fprintln(a.Out, "No bottles. Launch one with bottle apply.")
				return nil
			}
			// One write for the table, not one per bottle.
			out := bufio.NewWriter(a.Out)
			fmt.Fprintf(out, "%-28s %-14s %-10s %-13s %-10s %-8s %s\n", "IDENTITY", "BOTTLE", "AGENT", "BACKEND", "STATE", "PENDING", "AGE")
			for _, b := range list {
				age := "-"
				if !b.StartedAt.IsZero() {
					age = units.HumanDuration(time.Since(b.StartedAt))
				}
				fmt.Fprintf(out, "%-28s %-14s %-10s %-13s %-10s %-8d %s\n", termsafe.String(b.Identity), dash(termsafe.String(b.Bottle)),
					dash(termsafe.String(b.Agent)), dash(termsafe.String(b.Backend)), b.State, b.PendingRequests, age)
				if b.Error != "" {
					fmt.Fprintf(out, "    error: %s\n", termsafe.String(b.Error))
				}
			}
			return out.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON document")
	cmd.Flags().BoolVar(&results, "results", false, "list the patches ended sessions exported to $BOTTLE_HOME/results")
	return cmd
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func (a *app) logsCommand() *cobra.Command {
	var follow, egress bool
	cmd := &cobra.Command{
		Use:   "logs IDENTITY",
		Short: "Print what a bottle's agent printed (--egress: what its proxy allowed and denied)",
		Long: `Print what a bottle's agent printed, as it printed it: escape sequences
included, as docker logs does, because this is the agent's own terminal output.
Everything else bottle prints from a bottle is escaped; pipe this through
cat -v, or read it with l in bottle dashboard, to see it escaped.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := a.runner(nil)
			if err != nil {
				return err
			}
			if egress {
				return a.egressLogs(cmd.Context(), r, args[0])
			}
			return r.Logs(cmd.Context(), args[0], follow, a.Out)
		},
	}
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "keep streaming until the agent ends")
	cmd.Flags().BoolVar(&egress, "egress", false, "show the egress report: denials, per-host counts of allowed requests, grants")
	return cmd
}

func (a *app) stopCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "stop IDENTITY",
		Short: "Tear a bottle down; its state is removed unless preserved",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			// The observer shows where a copied workspace was exported.
			r, err := a.runner(&humanObserver{w: a.Err})
			if err != nil {
				return err
			}
			preserved, err := r.Stop(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if preserved {
				fmt.Fprintf(a.Out, "Stopped %s; its state is preserved. Resume it with:\n  bottle resume %s\n", args[0], args[0])
			} else {
				fmt.Fprintf(a.Out, "Stopped %s.\n", args[0])
			}
			return nil
		},
	}
}

func (a *app) destroyCommand() *cobra.Command {
	var all bool
	cmd := &cobra.Command{
		Use:   "destroy IDENTITY... | --all",
		Short: "Tear bottles down and remove their state, preserved or not",
		RunE: func(cmd *cobra.Command, args []string) error {
			if all == (len(args) > 0) {
				return fmt.Errorf("name the identities to destroy, or pass --all (see bottle ls)")
			}
			r, err := a.runner(nil)
			if err != nil {
				return err
			}
			if all {
				list, err := r.Status(cmd.Context())
				if err != nil {
					return err
				}
				for _, b := range list {
					if b.State != runner.StatusError || b.Bottle != "" {
						args = append(args, b.Identity)
					}
				}
			}
			var failed bool
			for _, id := range args {
				if err := r.Destroy(cmd.Context(), id); err != nil {
					a.printError(err)
					failed = true
					continue
				}
				fmt.Fprintf(a.Out, "Destroyed %s.\n", id)
			}
			if failed {
				return exitCodeError{exitError}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&all, "all", false, "destroy every bottle")
	return cmd
}

func (a *app) gcCommand() *cobra.Command {
	var backends []string
	var opts runner.GCOptions
	cmd := &cobra.Command{
		Use:   "gc [--dry-run] [--orphans]",
		Short: "Remove labelled leftovers that no live bottle owns",
		Long: `Remove what no live bottle owns: containers, networks, machines and images
labelled by bottle whose identity has no state dir; bottles whose session died
without cleaning up (e.g. kill -9); detached bottles whose agent has exited;
and superseded images: agent and cwd images that are not the newest of their
Dockerfile or folder (or whose Dockerfile or folder is gone), and untagged
ones. An image a container uses or a state dir names is kept. Preserved
bottles are never touched. --orphans also removes what BOTTLE_HOMEs that no
longer exist left; --dry-run removes nothing and lists what would go.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r, err := a.runner(nil)
			if err != nil {
				return err
			}
			removed, err := r.GCWith(cmd.Context(), backends, opts)
			verb := "removed"
			if opts.DryRun {
				verb = "would remove"
			}
			for _, line := range removed {
				fmt.Fprintf(a.Out, "%s %s\n", verb, termsafe.String(line))
			}
			if len(removed) == 0 && err == nil {
				fmt.Fprintln(a.Out, "Nothing to remove.")
			}
			return err
		},
	}
	cmd.Flags().StringSliceVar(&backends, "backend", []string{backend.Docker}, "backends to sweep (docker, smolmachines)")
	cmd.Flags().BoolVar(&opts.DryRun, "dry-run", false, "list what would be removed, remove nothing")
	cmd.Flags().BoolVar(&opts.Orphans, "orphans", false, "also remove what BOTTLE_HOMEs that no longer exist left")
	return cmd
}
