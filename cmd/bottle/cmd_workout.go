package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/docker/go-units"
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

// writeResults lists the patches session ends left under $BOTTLE_HOME/results.
func (a *app) writeResults(w io.Writer) error {
	home, err := a.home()
	if err != nil {
		return err
	}
	ents, err := os.ReadDir(home.ResultsDir())
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	type result struct {
		name string
		info os.FileInfo
	}
	var list []result
	for _, e := range ents {
		if info, err := e.Info(); err == nil && info.Mode().IsRegular() && strings.HasSuffix(e.Name(), ".patch") {
			list = append(list, result{e.Name(), info})
		}
	}
	if len(list) == 0 {
		fmt.Fprintln(w, "No results. A copy-mode bottle outside git leaves its patch here when it ends.")
		return nil
	}
	sort.Slice(list, func(i, j int) bool { return list[i].info.ModTime().After(list[j].info.ModTime()) })
	fmt.Fprintf(w, "%-28s %-10s %s\n", "IDENTITY", "SIZE", "AGE")
	for _, r := range list {
		fmt.Fprintf(w, "%-28s %-10s %s\n", strings.TrimSuffix(r.name, ".patch"), units.HumanSize(float64(r.info.Size())),
			units.HumanDuration(time.Since(r.info.ModTime())))
	}
	fmt.Fprintf(w, "\nEach is %s/IDENTITY.patch: apply it with git apply.\n", home.ResultsDir())
	return nil
}

func (a *app) adoptCommand() *cobra.Command {
	var write bool
	cmd := &cobra.Command{
		Use:   "adopt IDENTITY [--write]",
		Short: "Carry a bottle's approved capabilities into the project, as a reviewable diff",
		Long: `Show, as a unified diff of the project's files, the change that makes the
next plan of the identity's bottle include the capabilities approved for it:

  a dockerfile agent  the approved lines are appended to its Dockerfile, each
                      request under a comment naming it, its reason and date
  an image agent      a Dockerfile AGENT.Dockerfile next to bottle.hcl, FROM the
                      image plus the lines, and the agent block's image
                      replaced in place by dockerfile = "AGENT.Dockerfile"
                      (comments and layout kept, fmt clean)

--write applies it. Requests already in the Dockerfile are left out, so
adopting twice changes nothing. Then bottle plan shows the agent image
rebuilt, and every new bottle of that agent starts with the capability.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := a.runner(nil)
			if err != nil {
				return err
			}
			return a.adopt(r, args[0], write)
		},
	}
	cmd.Flags().BoolVar(&write, "write", false, "apply the change to the project's files")
	return cmd
}

// adopt prints identity's adoption and, with write, applies it.
func (a *app) adopt(r *runner.Runner, identity string, write bool) error {
	ad, err := r.Adopt(identity, nil)
	if err != nil {
		return err
	}
	if len(ad.Edits) == 0 {
		fmt.Fprintf(a.Out, "The capabilities approved for %s are in agent %q already: nothing to adopt.\n", identity, ad.Agent)
		return nil
	}
	if err := writePrintable(a.Out, bytes.NewReader(ad.Diff())); err != nil {
		return err
	}
	if !write {
		fmt.Fprintf(a.Err, "\nbottle adopt %s --write applies this change.\n", identity)
		return nil
	}
	if err := ad.Write(); err != nil {
		return err
	}
	fmt.Fprintf(a.Err, "\nAdopted %d approved requests into agent %q: bottle plan shows its image rebuilt.\n", len(ad.Approvals), ad.Agent)
	return nil
}
