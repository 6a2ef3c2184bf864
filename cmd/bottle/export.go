package main

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/bottle-dev/bottle/cmd/bottle/internal/termsafe"
	"github.com/bottle-dev/bottle/runner"
)

func (a *app) exportCommand() *cobra.Command {
	var opts runner.ExportOptions
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "export IDENTITY [--branch NAME | --patch FILE | --to DIR] [-- PATH...]",
		Short: "Bring a copy-mode bottle's changes out as a branch, a patch or a folder",
		Long: `Bring the agent's changes to its copied workspace out of the bottle:

  --branch NAME  a commit on branch NAME of your repository, whose parent is the
                 commit the bottle was launched from (your working tree, index,
                 HEAD and other branches are not touched; nothing of the
                 workspace's own .git is imported)
  --patch FILE   a patch that git apply (or patch -p1) applies
  --to DIR       the changed files, written under DIR (a new or empty folder)

Without one, the bottle's keep policy decides: a branch bottle/IDENTITY when the
folder was a git work tree, else a patch under $BOTTLE_HOME/results. A session
that ends exports this way on its own.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			n := 0
			for _, s := range []string{opts.Branch, opts.Patch, opts.To} {
				if s != "" {
					n++
				}
			}
			if n > 1 {
				return fmt.Errorf("--branch, --patch and --to each say where the changes go: give one")
			}
			if opts.Branch != "" && len(args) > 1 {
				return fmt.Errorf("a branch export takes every change: drop the paths, or use --patch or --to")
			}
			for _, p := range []*string{&opts.Patch, &opts.To} {
				if *p != "" {
					abs, err := filepath.Abs(*p)
					if err != nil {
						return err
					}
					*p = abs
				}
			}
			opts.Paths = args[1:]
			r, err := a.runner(nil)
			if err != nil {
				return err
			}
			res, err := r.Export(cmd.Context(), args[0], opts)
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(a.Out, map[string]any{"format_version": "1", "export": res})
			}
			writeExport(a.Out, res)
			return nil
		},
	}
	cmd.Flags().StringVar(&opts.Branch, "branch", "", "commit the changes on branch `NAME`")
	cmd.Flags().StringVar(&opts.Patch, "patch", "", "write a git-apply-able patch to `FILE`")
	cmd.Flags().StringVar(&opts.To, "to", "", "write the changed files under `DIR`")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON document")
	return cmd
}

func writeExport(w io.Writer, res *runner.ExportResult) {
	switch {
	case res.Empty:
		fmt.Fprintf(w, "No changes in the workspace of %s: nothing exported.\n", res.Identity)
	case res.Kind == "branch":
		fmt.Fprintf(w, "Exported %d changed files of %s to branch %s (commit %.12s, on %.12s).\n", res.Changes, res.Identity, res.Where, res.Commit, res.Parent)
		fmt.Fprintf(w, "  review: %s\n  merge:  git merge %s\n", res.Look, res.Where)
	case res.Kind == "folder":
		fmt.Fprintf(w, "Wrote the changed files of %s under %s.\n", res.Identity, res.Where)
		for _, d := range res.Deleted {
			fmt.Fprintf(w, "  deleted: %s\n", termsafe.String(d))
		}
	default:
		fmt.Fprintf(w, "Exported %d changed files of %s to %s.\n  review: %s\n", res.Changes, res.Identity, res.Where, res.Look)
	}
	if len(res.Ignored) > 0 {
		fmt.Fprintf(w, "  left off (ignored by git): %s\n", termsafe.String(strings.Join(res.Ignored, ", ")))
	}
	if res.GitChanges > 0 {
		fmt.Fprintf(w, "  not exported: %d changes inside the workspace's .git\n", res.GitChanges)
	}
}
