package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/spf13/cobra"

	"github.com/bottle-dev/bottle/config"
)

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
