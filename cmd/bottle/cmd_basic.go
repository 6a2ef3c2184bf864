package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"

	"github.com/rogpeppe/go-internal/diff"
	"github.com/spf13/cobra"

	"github.com/bottle-dev/bottle/config"
	"github.com/bottle-dev/bottle/runner/state"
)

func (a *app) versionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print bottle's version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintf(a.Out, "bottle %s (%s, %s/%s)\n", version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
			return nil
		},
	}
}

func (a *app) initCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "init",
		Short: "Write a starter bottle.hcl in the current folder",
		Long:  "Write a starter bottle.hcl in the current folder. An existing bottle.hcl is never overwritten.",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			const name = "bottle.hcl"
			f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
			if errors.Is(err, fs.ErrExist) {
				return fmt.Errorf("%s already exists; bottle init never overwrites it (remove it first to start over)", name)
			}
			if err != nil {
				return fmt.Errorf("write %s: %w", name, err)
			}
			_, werr := f.Write(config.Starter())
			if cerr := f.Close(); werr == nil {
				werr = cerr
			}
			if werr != nil {
				return fmt.Errorf("write %s: %w", name, werr)
			}
			fmt.Fprintf(a.Out, "Wrote %s. Next: bottle validate, then bottle plan.\n", name)
			return nil
		},
	}
}

func (a *app) validateCommand() *cobra.Command {
	// As terraform validate: a variable without a value is unknown, and
	// only what can be checked without it is.
	cf := configFlags{unset: config.UnsetUnknown}
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "validate",
		Short: "Check bottle.hcl for errors",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !asJSON {
				if _, _, err := a.load(&cf); err != nil {
					return err
				}
				fmt.Fprintln(a.Out, "Success! The configuration is valid.")
				return nil
			}
			vars, err := cf.varMap()
			if err != nil {
				return err
			}
			_, diags := config.Load(cf.file, cf.options(a, vars))
			out := map[string]any{
				"format_version": "1", "valid": !diags.HasErrors(),
				"error_count": len(diags.Errs()), "warning_count": len(diags) - len(diags.Errs()),
				"diagnostics": toJSONDiagnostics(diags),
			}
			if err := writeJSON(a.Out, out); err != nil {
				return err
			}
			if diags.HasErrors() {
				return exitCodeError{exitError}
			}
			return nil
		},
	}
	cf.register(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON document")
	return cmd
}

func (a *app) fmtCommand() *cobra.Command {
	var check, diff, recursive bool
	cmd := &cobra.Command{
		Use:   "fmt [PATH...]",
		Short: "Rewrite bottle.hcl files in the canonical format",
		Long: `Rewrite HCL files in the canonical format. With no PATH, formats bottle.hcl.
A folder means every *.hcl file in it (with --recursive, below it too); "-"
reads standard input and writes the result to standard output. Files with
syntax errors are reported and left untouched.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				args = []string{"bottle.hcl"}
			}
			changed, failed := false, false
			for _, arg := range args {
				if arg == "-" {
					src, err := io.ReadAll(a.In)
					if err != nil {
						return fmt.Errorf("read stdin: %w", err)
					}
					out, diags := config.Format("<stdin>", src)
					if diags.HasErrors() {
						a.printDiagnostics(diags, map[string][]byte{"<stdin>": src})
						return exitCodeError{exitError}
					}
					_, err = a.Out.Write(out)
					return err
				}
				files, err := hclFiles(arg, recursive)
				if err != nil {
					return err
				}
				for _, f := range files {
					c, err := a.fmtFile(f, check, diff)
					if err != nil {
						if !errors.Is(err, errReported) {
							fmt.Fprintf(a.Err, "Error: %s\n", err)
						}
						failed = true
						continue
					}
					changed = changed || c
				}
			}
			switch {
			case failed:
				return exitCodeError{exitError}
			case check && changed:
				return exitCodeError{exitFmtChanges}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&check, "check", false, "list files that are not formatted and exit 3 if any; change nothing")
	cmd.Flags().BoolVar(&diff, "diff", false, "show the changes as a diff")
	cmd.Flags().BoolVarP(&recursive, "recursive", "r", false, "also format *.hcl files in subfolders")
	return cmd
}

var errReported = errors.New("reported")

func (a *app) fmtFile(path string, check, showDiff bool) (bool, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return false, fmt.Errorf("read %s: %w", path, err)
	}
	out, diags := config.Format(path, src)
	if diags.HasErrors() {
		a.printDiagnostics(diags, map[string][]byte{path: src})
		return false, errReported
	}
	if string(out) == string(src) {
		return false, nil
	}
	fmt.Fprintln(a.Out, path)
	if showDiff {
		a.Out.Write(diff.Diff(path, src, path+" (formatted)", out))
	}
	if check {
		return true, nil
	}
	fi, err := os.Stat(path)
	if err != nil {
		return true, err
	}
	return true, state.WriteFileAtomic(path, out, fi.Mode().Perm())
}

// hclFiles expands a PATH argument of fmt.
func hclFiles(path string, recursive bool) ([]string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("fmt %s: %w", path, err)
	}
	if !fi.IsDir() {
		return []string{path}, nil
	}
	var out []string
	err = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && p != path && !recursive {
			return filepath.SkipDir
		}
		if !d.IsDir() && filepath.Ext(p) == ".hcl" {
			out = append(out, p)
		}
		return nil
	})
	return out, err
}
