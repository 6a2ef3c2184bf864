package main

import (
	"github.com/spf13/cobra"

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
