package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/bottle-dev/bottle/config"
)

// configFlags are the flags of every command that reads bottle.hcl.
type configFlags struct {
	file     string
	vars     []string
	varFiles []string
	// unset is what a variable without a value becomes: an error for the
	// commands that launch, unknown for validate and plan.
	unset config.Unset
}

// options are the config.Load options of these flags.
func (f *configFlags) options(a *app, vars map[string]string) config.Options {
	return config.Options{Vars: vars, VarFiles: f.varFiles, Env: a.lookupEnv, Unset: f.unset}
}

func (f *configFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVarP(&f.file, "file", "f", "bottle.hcl", "the configuration `FILE`")
	cmd.Flags().StringArrayVar(&f.vars, "var", nil, "set a variable: `NAME=VALUE` (repeatable; wins over --var-file, BOTTLE_VAR_* and defaults)")
	cmd.Flags().StringArrayVar(&f.varFiles, "var-file", nil, "read variables from an HCL `FILE` of NAME = VALUE lines (repeatable)")
}

// varMap parses --var NAME=VALUE flags.
func (f *configFlags) varMap() (map[string]string, error) {
	vars := map[string]string{}
	for _, v := range f.vars {
		name, value, ok := strings.Cut(v, "=")
		if !ok || name == "" {
			return nil, fmt.Errorf("--var %q: write it as NAME=VALUE", v)
		}
		vars[name] = value
	}
	return vars, nil
}

// load reads the configuration; on errors it prints the diagnostics and
// returns an exitCodeError so the command ends with exit 1.
func (a *app) load(f *configFlags) (*config.Config, map[string]string, error) {
	vars, err := f.varMap()
	if err != nil {
		return nil, nil, err
	}
	if _, err := os.Stat(f.file); err != nil && f.file == "bottle.hcl" {
		wd, _ := os.Getwd()
		return nil, nil, fmt.Errorf("no bottle.hcl in %s: run bottle init to write one, or pass --chdir DIR or --file FILE", wd)
	}
	cfg, diags := config.Load(f.file, f.options(a, vars))
	var sources map[string][]byte
	if cfg != nil {
		sources = cfg.Sources()
	}
	if len(diags) > 0 {
		a.printDiagnostics(diags, sources)
	}
	if diags.HasErrors() {
		return nil, nil, exitCodeError{exitError}
	}
	return cfg, publicVars(cfg, vars), nil
}

// publicVars drops the values of sensitive variables: they are never written
// to the state dir.
func publicVars(cfg *config.Config, vars map[string]string) map[string]string {
	out := map[string]string{}
	for name, v := range vars {
		sensitive := false
		for _, decl := range cfg.Variables {
			if decl.Name == name && decl.Sensitive {
				sensitive = true
			}
		}
		if !sensitive {
			out[name] = v
		}
	}
	return out
}

func (a *app) lookupEnv(name string) (string, bool) {
	v := a.getenv(name)
	if v == "" {
		return os.LookupEnv(name)
	}
	return v, true
}
