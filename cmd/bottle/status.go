package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/docker/go-units"
	"github.com/spf13/cobra"

	"github.com/bottle-dev/bottle/cmd/bottle/internal/termsafe"
	"github.com/bottle-dev/bottle/runner"
)

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
