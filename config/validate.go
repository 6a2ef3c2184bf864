package config

import (
	"fmt"
	"math"
	"os"
	"path"
	"regexp"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// validate is the last stage: checks that need the whole decoded
// configuration or the file system.
func (l *loader) validate() hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, name := range sortedKeys(l.cfg.Agents) {
		diags = append(diags, l.validateAgent(l.cfg.Agents[name])...)
	}
	for _, b := range l.cfg.Bottles {
		diags = append(diags, l.validateBottle(b)...)
	}
	return diags
}

func (l *loader) validateAgent(a *Agent) hcl.Diagnostics {
	var diags hcl.Diagnostics
	add := func(summary, detail string, subject hcl.Range) {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError, Summary: summary, Detail: detail,
			Subject: subject.Ptr(), Context: a.rng.Ptr(),
		})
	}
	if a.Dockerfile != "" {
		if info, err := os.Stat(a.Dockerfile); err != nil || !info.Mode().IsRegular() {
			add("Dockerfile not found",
				fmt.Sprintf("There is no file at %s. The path is relative to the folder of the config file, %s.", a.Dockerfile, l.cfg.Dir),
				a.DockerfileRange)
		}
		if info, err := os.Stat(a.Context); err != nil || !info.IsDir() {
			add("Build context not found",
				fmt.Sprintf("There is no folder at %s. The path is relative to the folder of the config file, %s.", a.Context, l.cfg.Dir),
				a.ContextRange)
		}
	}
	if path.IsAbs(a.Transcript) {
		a.Transcript = path.Clean(a.Transcript)
	} else if a.Transcript != "" {
		add("Relative transcript path",
			fmt.Sprintf("transcript is a folder inside the bottle and must be absolute, such as \"/home/agent/.claude\"; %q is relative.", a.Transcript),
			a.TranscriptRange)
	}
	if path.IsAbs(a.Workdir) {
		a.Workdir = path.Clean(a.Workdir)
	} else {
		add("Relative workdir",
			fmt.Sprintf("workdir is a folder inside the bottle and must be absolute, such as %q; %q is relative.", DefaultWorkdir, a.Workdir),
			a.workdirRange)
	}
	return diags
}

func (l *loader) validateBottle(b *Bottle) hcl.Diagnostics {
	var diags hcl.Diagnostics
	add := func(summary, detail string, subject hcl.Range) {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError, Summary: summary, Detail: detail,
			Subject: subject.Ptr(), Context: b.rng.Ptr(),
		})
	}
	if b.Backend != BackendDocker && b.Backend != BackendSmolmachines && b.Backend != BackendKubernetes {
		known := []string{BackendDocker, BackendSmolmachines, BackendKubernetes}
		detail := fmt.Sprintf("%q is not a backend.%s Use %q, %q or %q.", b.Backend,
			didYouMean(b.Backend, known), BackendDocker, BackendSmolmachines, BackendKubernetes)
		if b.BackendFromEnv {
			detail = fmt.Sprintf("%s is %q, and this bottle sets no backend of its own.%s Set %s to %q, %q or %q, or set backend in the block.",
				BackendEnv, b.Backend, didYouMean(b.Backend, known), BackendEnv, BackendDocker, BackendSmolmachines, BackendKubernetes)
		}
		add("Unsupported backend", detail, b.BackendRange)
	}
	diags = append(diags, validateKubernetes(b)...)
	if b.CPUsRange != (hcl.Range{}) && (b.CPUs <= 0 || math.IsInf(b.CPUs, 0)) {
		add("Invalid CPU count",
			"cpus must be a positive number, such as 2 or 0.5. Remove it to leave the CPU count to the backend.",
			b.CPUsRange)
	} else if b.Backend == BackendSmolmachines && b.CPUs > SmolmachinesMaxCPUs {
		add("Too many CPUs for smolmachines",
			fmt.Sprintf("cpus is %g, but the smolmachines backend gives a machine at most %d vCPUs (smolvm's --cpus is one byte; "+
				"more than 16 bring no gain). Lower cpus to %d or less, or use the docker backend.", b.CPUs, SmolmachinesMaxCPUs, SmolmachinesMaxCPUs),
			b.CPUsRange)
	}
	if b.MemoryRange != (hcl.Range{}) {
		n, err := ParseMemory(b.Memory)
		if err != nil {
			add("Invalid memory size", err.Error()+".", b.MemoryRange)
		}
		b.MemoryBytes = n
	}
	if c := b.Cwd; c != nil {
		if info, err := os.Stat(c.Path); err != nil || !info.IsDir() {
			add("Project folder not found",
				fmt.Sprintf("There is no folder at %s. The cwd path is relative to the folder of the config file, %s.", c.Path, l.cfg.Dir),
				c.PathRange)
		}
		// A target inherited from a relative workdir is reported on the
		// agent; one that is unknown, broken or has no agent to inherit
		// from (reported elsewhere) is left alone.
		inheritedRelative := c.TargetRange == c.DeclRange && !path.IsAbs(c.Target)
		unset := c.Target == "" && c.TargetRange == (hcl.Range{})
		if path.IsAbs(c.Target) && path.Clean(c.Target) != "/" {
			c.Target = path.Clean(c.Target)
		} else if !inheritedRelative && !unset {
			add("Invalid cwd target",
				fmt.Sprintf("target is a folder inside the bottle and must be absolute and not \"/\", such as %q; it is %q.", DefaultWorkdir, c.Target),
				c.TargetRange)
		}
	}
	return diags
}

var memoryPattern = regexp.MustCompile(`^\s*([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z]+)\s*$`)

// memoryUnits maps lower-case units to bytes: KB, MB, GB, TB are powers of
// 1000; KiB, MiB, GiB, TiB and docker's single letters are powers of 1024.
var memoryUnits = map[string]float64{
	"b":  1,
	"kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12,
	"kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40,
	"k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40,
}

// ParseMemory parses a memory size such as "512MiB", "4GiB", "1.5GiB" or
// "100MB" into bytes. A unit is required, so that 4096 is not silently four
// kilobytes.
func ParseMemory(s string) (int64, error) {
	m := memoryPattern.FindStringSubmatch(s)
	if m == nil {
		return 0, fmt.Errorf("%q is not a memory size. Write a number and a unit, such as \"512MiB\" or \"4GiB\"; units are B, KB, MB, GB, TB (powers of 1000) and KiB, MiB, GiB, TiB (powers of 1024)", s)
	}
	unit, ok := memoryUnits[strings.ToLower(m[2])]
	if !ok {
		return 0, fmt.Errorf("%q is not a memory unit. Use B, KB, MB, GB, TB (powers of 1000) or KiB, MiB, GiB, TiB (powers of 1024)", m[2])
	}
	n, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a number", m[1])
	}
	bytes := math.Floor(n * unit)
	switch {
	case bytes < 1:
		return 0, fmt.Errorf("%q is zero; give a size of at least one byte, or remove memory to leave it to the backend", s)
	case bytes >= math.MaxInt64:
		return 0, fmt.Errorf("%q is too large", s)
	}
	return int64(bytes), nil
}
