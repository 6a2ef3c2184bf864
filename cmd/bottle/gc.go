package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/bottle-dev/bottle/backend"
	"github.com/bottle-dev/bottle/cmd/bottle/internal/termsafe"
	"github.com/bottle-dev/bottle/runner"
)

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
	cmd.Flags().StringSliceVar(&backends, "backend", []string{backend.Docker}, "backends to sweep (docker, smolmachines, kubernetes)")
	cmd.Flags().BoolVar(&opts.DryRun, "dry-run", false, "list what would be removed, remove nothing")
	cmd.Flags().BoolVar(&opts.Orphans, "orphans", false, "also remove what BOTTLE_HOMEs that no longer exist left")
	return cmd
}
