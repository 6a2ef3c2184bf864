package runner

import (
	"fmt"
	"sort"

	"github.com/bottle-dev/bottle/backend"
	"github.com/bottle-dev/bottle/backend/buildctx"
	"github.com/bottle-dev/bottle/config"
	"github.com/bottle-dev/bottle/runner/state"
)

// PlanFormatVersion is the format_version of plan --json.
const PlanFormatVersion = "1"

// Plan is what apply would do, worked out without touching any engine.
type Plan struct {
	FormatVersion string          `json:"format_version"`
	Config        string          `json:"config"`
	Bottles       []BottlePlan    `json:"bottles"`
	Resumable     []ResumablePlan `json:"resumable"`
}

// Image actions.
const (
	ImageBuild = "build" // build a Dockerfile (reused when the content hash is already built)
	ImageUse   = "use"   // use an image reference (pulled when missing)
)

// BottlePlan is one bottle apply would launch.
type BottlePlan struct {
	Action        string    `json:"action"` // always "create": every launch is a new bottle
	Name          string    `json:"name"`
	Agent         string    `json:"agent"`
	Backend       string    `json:"backend"`
	BackendSource string    `json:"backend_source"` // "bottle.hcl", "BOTTLE_BACKEND" or "default"
	Identity      string    `json:"identity"`
	Container     string    `json:"container"`
	StateDir      string    `json:"state_dir"`
	Image         ImagePlan `json:"image"`
	Cwd           *CwdPlan  `json:"cwd,omitempty"`
	Workdir       string    `json:"workdir"`
	User          string    `json:"user,omitempty"`
	CPUs          float64   `json:"cpus,omitempty"`
	MemoryBytes   int64     `json:"memory_bytes,omitempty"`
	Transcript    string    `json:"transcript,omitempty"`
	Env           []EnvPlan `json:"env"`
	Command       []string  `json:"command"`
	ResumeCommand []string  `json:"resume_command,omitempty"`
	Network       string    `json:"network"`
	// Egress and Security: plan_containment.go.
	Egress   *EgressPlan   `json:"egress,omitempty"`
	Security *SecurityPlan `json:"security,omitempty"`
}

// ImagePlan is how the agent image is obtained.
type ImagePlan struct {
	Action     string `json:"action"`
	Ref        string `json:"ref,omitempty"`
	Dockerfile string `json:"dockerfile,omitempty"`
	Context    string `json:"context,omitempty"`
	Hash       string `json:"content_hash,omitempty"`
	Tag        string `json:"tag,omitempty"`
}

// CwdPlan is how the project folder gets into the bottle.
type CwdPlan struct {
	Path    string   `json:"path"`
	Mode    string   `json:"mode"` // "copy" or "mount"
	Target  string   `json:"target"`
	Exclude []string `json:"exclude,omitempty"`
}

// EnvPlan is one environment variable; Value is "(sensitive)" or
// "(known after launch)" where the real value is not shown.
type EnvPlan struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// ResumablePlan is a preserved bottle of this project that resume (or
// watch) can bring back.
type ResumablePlan struct {
	Identity   string `json:"identity"`
	Bottle     string `json:"bottle"`
	Backend    string `json:"backend"`
	Dockerfile string `json:"dockerfile,omitempty"`
	Reason     string `json:"reason"`
}

// Unknown stands for values only a launch knows.
const Unknown = "(known after launch)"

// PlanConfig works out what apply would do for the named bottles (all when
// names is empty). It reads files to hash build contexts and the state dirs
// to list resumable bottles, and contacts no engine.
func (r *Runner) PlanConfig(cfg *config.Config, names []string) (*Plan, error) {
	bottles, err := Select(cfg, names)
	if err != nil {
		return nil, err
	}
	p := &Plan{FormatVersion: PlanFormatVersion, Config: cfg.Path, Bottles: []BottlePlan{}, Resumable: []ResumablePlan{}}
	for _, b := range bottles {
		bp, err := r.planBottle(b)
		if err != nil {
			return nil, err
		}
		p.Bottles = append(p.Bottles, *bp)
	}
	p.Resumable = r.resumable(cfg)
	return p, nil
}

// Select returns the named bottles (all of them when names is empty), or an
// error naming the ones that do not exist.
func Select(cfg *config.Config, names []string) ([]*config.Bottle, error) {
	if len(names) == 0 {
		if len(cfg.Bottles) == 0 {
			return nil, fmt.Errorf("%s declares no bottle blocks; add one (bottle init writes an example)", cfg.Path)
		}
		return cfg.Bottles, nil
	}
	var out []*config.Bottle
	for _, n := range names {
		b := cfg.Bottle(n)
		if b == nil {
			var have []string
			for _, b := range cfg.Bottles {
				have = append(have, b.Name)
			}
			return nil, fmt.Errorf("no bottle %q in %s (declared: %v)", n, cfg.Path, have)
		}
		out = append(out, b)
	}
	return out, nil
}

func (r *Runner) planBottle(b *config.Bottle) (*BottlePlan, error) {
	a := b.Agent
	pattern := state.Slug(b.Name) + "-?????"
	bp := &BottlePlan{
		Action: "create", Name: b.Name, Agent: a.Name, Backend: b.Backend,
		Identity: pattern + " " + Unknown, Container: "bottle-" + pattern,
		StateDir: r.Home.StateRoot() + "/" + pattern, Workdir: a.Workdir, User: a.User,
		CPUs: b.CPUs, MemoryBytes: b.MemoryBytes, Transcript: a.Transcript, Env: []EnvPlan{},
		Network: openNetwork(b.Backend, pattern),
	}
	if !b.Network {
		bp.Network = "none (network = false)"
	}
	planContainment(b, bp)
	switch {
	case b.BackendFromEnv:
		bp.BackendSource = "BOTTLE_BACKEND"
	// config points BackendRange at the block header when the block sets
	// no backend: only an attribute of its own is "bottle.hcl".
	case b.BackendRange.Filename != "" && b.BackendRange != b.DeclRange:
		bp.BackendSource = "bottle.hcl"
	default:
		bp.BackendSource = "default"
	}
	if a.Image != "" {
		bp.Image = ImagePlan{Action: ImageUse, Ref: a.Image}
	} else {
		h, err := buildctx.Hash(a.Dockerfile, a.Context)
		if err != nil {
			return nil, withRange(fmt.Errorf("hash the build context of %s: %w", a.Dockerfile, err), a.DockerfileRange)
		}
		// The image's labels are part of its content (and of its tag).
		h = buildctx.Keyed(h, r.agentLabels(a.Dockerfile))
		bp.Image = ImagePlan{Action: ImageBuild, Dockerfile: a.Dockerfile, Context: a.Context, Hash: h, Tag: buildctx.Tag(h)}
	}
	if c := b.Cwd; c != nil {
		mode := "mount"
		if c.Copy {
			mode = "copy"
		}
		bp.Cwd = &CwdPlan{Path: c.Path, Mode: mode, Target: c.Target, Exclude: c.Exclude}
	}
	l, diags := b.Launch(config.Session{})
	if diags.HasErrors() {
		return nil, &DiagnosticsError{Diags: diags}
	}
	bp.Command = redact(l.Command)
	bp.ResumeCommand = redact(l.ResumeCommand)
	for k, v := range l.Env {
		bp.Env = append(bp.Env, EnvPlan{Name: k, Value: v.String()})
	}
	for _, k := range []string{"BOTTLE_IDENTITY", "BOTTLE_SESSION_ID"} {
		bp.Env = append(bp.Env, EnvPlan{Name: k, Value: Unknown})
	}
	bp.Env = append(bp.Env, EnvPlan{Name: "BOTTLE_QUEUE", Value: GuestQueue})
	sort.Slice(bp.Env, func(i, j int) bool { return bp.Env[i].Name < bp.Env[j].Name })
	return bp, nil
}

// resumable lists the preserved bottles launched from cfg's file.
func (r *Runner) resumable(cfg *config.Config) []ResumablePlan {
	out := []ResumablePlan{}
	ids, _, err := r.Home.Identities()
	if err != nil {
		return out
	}
	for _, id := range ids {
		dir, err := r.Home.Dir(id)
		if err != nil || !dir.IsPreserved() {
			continue
		}
		md, err := dir.ReadMetadata()
		if err != nil || md.ConfigPath != cfg.Path {
			continue
		}
		rp := ResumablePlan{Identity: id, Bottle: md.Bottle, Backend: md.BackendName(), Reason: "preserved"}
		if dir.HasDockerfile() {
			rp.Dockerfile = dir.DockerfilePath()
			rp.Reason = "capability-block Dockerfile present"
		}
		out = append(out, rp)
	}
	return out
}

// openNetwork says what a bottle with network = true and no egress policy is
// attached to, in its backend's terms.
func openNetwork(backendName, pattern string) string {
	switch backendName {
	case backend.Smolmachines:
		return "smolvm --net (every outbound address)"
	case backend.Kubernetes:
		return "the cluster's pod network (outbound; a NetworkPolicy denies ingress from other bottles)"
	}
	return "bottle-" + pattern + " (outbound)"
}
