package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/rogpeppe/go-internal/diff"
	"github.com/spf13/cobra"

	"github.com/bottle-dev/bottle/config"
	"github.com/bottle-dev/bottle/runner/state"
)

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
