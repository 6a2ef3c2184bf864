package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/docker/go-units"
	"github.com/spf13/cobra"

	"github.com/bottle-dev/bottle/config"
	"github.com/bottle-dev/bottle/runner"
)

func (a *app) planCommand() *cobra.Command {
	// A variable only the launch reads may stay unset: the plan shows
	// "(known after launch)" where it is used.
	cf := configFlags{unset: config.UnsetLaunch}
	var asJSON, detailed bool
	cmd := &cobra.Command{
		Use:   "plan [NAME...]",
		Short: "Show what apply would do, without touching anything",
		Long: `Show what apply would do for the named bottles (all when none are named):
the image to build (with its content hash) or use, how the project folder gets
in, the backend, the environment and the command, plus the preserved bottles of
this project that bottle resume can bring back. Needs no Docker engine.`,
		RunE: func(cmd *cobra.Command, names []string) error {
			cfg, _, err := a.load(&cf)
			if err != nil {
				return err
			}
			r, err := a.runner(nil)
			if err != nil {
				return err
			}
			p, err := r.PlanConfig(cfg, names)
			if err != nil {
				return err
			}
			if asJSON {
				err = writeJSON(a.Out, p)
			} else {
				renderPlan(a.Out, p)
			}
			if err == nil && detailed && len(p.Bottles) > 0 {
				a.exit = exitChanges
			}
			return err
		},
	}
	cf.register(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the plan as one JSON document")
	cmd.Flags().BoolVar(&detailed, "detailed-exitcode", false, "exit 2 when there is something to apply")
	return cmd
}

// renderPlan prints the plan in the Terraform style, from the same structs
// --json prints.
func renderPlan(w io.Writer, p *runner.Plan) {
	fmt.Fprintf(w, "bottle will perform the following actions (%s):\n\n", p.Config)
	for _, b := range p.Bottles {
		fmt.Fprintf(w, "  + bottle %q (agent %q) will be launched\n", b.Name, b.Agent)
		kv := func(k, v string) { fmt.Fprintf(w, "      %-15s = %s\n", k, v) }
		kv("identity", b.Identity)
		kv("backend", fmt.Sprintf("%s (from %s)", b.Backend, b.BackendSource))
		switch b.Image.Action {
		case runner.ImageBuild:
			kv("image", fmt.Sprintf("build %s (reused when already built)", b.Image.Tag))
			kv("  dockerfile", b.Image.Dockerfile)
			kv("  context", b.Image.Context)
			kv("  content_hash", b.Image.Hash)
		default:
			kv("image", fmt.Sprintf("use %s (pulled when missing)", b.Image.Ref))
		}
		if c := b.Cwd; c != nil {
			verb := "bind-mount"
			if c.Mode == "copy" {
				verb = "copy"
			}
			kv("cwd", fmt.Sprintf("%s %s -> %s", verb, c.Path, c.Target))
			if len(c.Exclude) > 0 {
				kv("  exclude", strings.Join(c.Exclude, ", "))
			}
		}
		kv("workdir", b.Workdir)
		if b.User != "" {
			kv("user", b.User)
		}
		if b.CPUs > 0 {
			kv("cpus", fmt.Sprint(b.CPUs))
		}
		if b.MemoryBytes > 0 {
			kv("memory", units.BytesSize(float64(b.MemoryBytes)))
		}
		if b.Transcript != "" {
			kv("transcript", b.Transcript)
		}
		kv("container", b.Container)
		kv("network", b.Network)
		renderContainment(w, b)
		kv("state_dir", b.StateDir)
		kv("command", argvString(b.Command))
		if b.ResumeCommand != nil {
			kv("resume_command", argvString(b.ResumeCommand))
		}
		fmt.Fprintln(w, "      env:")
		for _, e := range b.Env {
			fmt.Fprintf(w, "        %s = %s\n", e.Name, e.Value)
		}
		fmt.Fprintln(w)
	}
	if len(p.Resumable) > 0 {
		fmt.Fprintln(w, "Preserved bottles of this project that can be resumed:")
		for _, r := range p.Resumable {
			fmt.Fprintf(w, "  ~ %s (bottle %q, backend %s): %s\n", r.Identity, r.Bottle, r.Backend, r.Reason)
			if r.Dockerfile != "" {
				fmt.Fprintf(w, "      per-bottle Dockerfile = %s\n", r.Dockerfile)
			}
			fmt.Fprintf(w, "      bottle resume %s\n", r.Identity)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "Plan: %d to launch, %d resumable.\n", len(p.Bottles), len(p.Resumable))
}

func argvString(argv []string) string {
	if argv == nil {
		return "(the image's own command)"
	}
	parts := make([]string, len(argv))
	for i, s := range argv {
		parts[i] = fmt.Sprintf("%q", s)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}
