package main

import (
	"bytes"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/bottle-dev/bottle/cmd/bottle/internal/termsafe"
	"github.com/bottle-dev/bottle/runner"
	"github.com/bottle-dev/bottle/runner/changes"
)

func (a *app) diffCommand() *cobra.Command {
	var stat, asJSON bool
	cmd := &cobra.Command{
		Use:   "diff IDENTITY [--stat] [--json] [-- PATH...]",
		Short: "Show a copy-mode bottle's changes to its workspace",
		Long: `Show what the agent changed in its copied workspace, against the tree the
bottle was launched with: added, modified and deleted files, mode changes and
symlinks, as a unified diff ("Binary files ... differ" for binary files).
Changes inside the workspace's own .git are listed apart: they are never
exported. Works while the bottle runs, and on the workspace an approval kept.

What the agent wrote is shown with its control characters escaped; for a
patch to apply, use bottle export IDENTITY --patch FILE.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := a.runner(nil)
			if err != nil {
				return err
			}
			ws, err := r.Changes(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			defer ws.Close()
			paths := args[1:]
			if asJSON || stat {
				stats, err := ws.Stats(cmd.Context(), ws.Tree, paths)
				if err != nil {
					return err
				}
				if asJSON {
					return writeJSON(a.Out, diffJSON(ws, stats))
				}
				var buf bytes.Buffer
				if err := changes.WriteStat(&buf, stats); err != nil {
					return err
				}
				if err := writePrintable(a.Out, &buf); err != nil {
					return err
				}
				return writeApart(a.Out, ws)
			}
			if ws.Empty() && len(ws.Git) == 0 {
				fmt.Fprintf(a.Out, "No changes in the workspace of %s.\n", ws.Identity)
				return nil
			}
			var buf bytes.Buffer
			if err := ws.WritePatch(cmd.Context(), &buf, ws.Tree, changes.PatchOptions{Paths: paths}); err != nil {
				return err
			}
			if err := writePrintable(a.Out, &buf); err != nil {
				return err
			}
			return writeApart(a.Out, ws)
		},
	}
	cmd.Flags().BoolVar(&stat, "stat", false, "one line per changed file")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON document")
	return cmd
}

type diffDoc struct {
	FormatVersion string           `json:"format_version"`
	Identity      string           `json:"identity"`
	Changes       []changes.Stat   `json:"changes"`
	Git           []changes.Change `json:"git_dir_changes"`
	Skipped       []string         `json:"skipped"`
}

func diffJSON(ws *runner.Workspace, stats []changes.Stat) diffDoc {
	d := diffDoc{FormatVersion: "1", Identity: ws.Identity, Changes: stats, Git: ws.Git, Skipped: ws.Skipped}
	if d.Changes == nil {
		d.Changes = []changes.Stat{}
	}
	if d.Git == nil {
		d.Git = []changes.Change{}
	}
	if d.Skipped == nil {
		d.Skipped = []string{}
	}
	return d
}

// writePrintable copies r with what the agent could have written in it
// (file names and contents) escaped by termsafe, line breaks and tabs kept.
func writePrintable(w io.Writer, r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	_, err = io.WriteString(w, termsafe.Lines(string(b)))
	return err
}

// writeApart lists what is never exported: the workspace's .git changes
// and entries that are neither files nor symlinks.
func writeApart(w io.Writer, ws *runner.Workspace) error {
	if len(ws.Git) > 0 {
		fmt.Fprintf(w, "\nChanges inside the workspace's .git (never exported):\n")
		for _, c := range ws.Git {
			fmt.Fprintf(w, "  %-8s %s\n", c.Kind, termsafe.String(c.Path))
		}
	}
	if len(ws.Skipped) > 0 {
		fmt.Fprintf(w, "\nSkipped (neither file, folder nor symlink):\n")
		for _, p := range ws.Skipped {
			fmt.Fprintf(w, "  %s\n", termsafe.String(p))
		}
	}
	return nil
}
