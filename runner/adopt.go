package runner

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/rogpeppe/go-internal/diff"
	"github.com/zclconf/go-cty/cty"

	"github.com/bottle-dev/bottle/config"
	"github.com/bottle-dev/bottle/runner/state"
)

// Adopted is one approval of an identity, as its audit log records it.
type Adopted struct {
	Request string
	Reason  string
	Lines   []string
	Time    time.Time
}

// FileEdit is one file of the project adopt changes.
type FileEdit struct {
	// Path is absolute; Rel is relative to the config file's folder.
	Path, Rel string
	Old, New  []byte
	// Create: the file does not exist yet.
	Create bool
}

// Adoption is the change to the project that makes the next plan of a
// bottle include the capabilities approved for one of its identities.
type Adoption struct {
	Identity string
	Agent    string
	// Approvals are those not in the project yet.
	Approvals []Adopted
	Edits     []FileEdit
}

// Diff is the adoption as a unified diff of the project's files.
func (a *Adoption) Diff() []byte {
	var out bytes.Buffer
	for _, e := range a.Edits {
		old := "a/" + e.Rel
		if e.Create {
			old = "/dev/null"
		}
		d := diff.Diff(old, e.Old, "b/"+e.Rel, e.New)
		// go-internal's first header line names both sides; git's form
		// reads better and patch accepts either.
		if i := bytes.IndexByte(d, '\n'); i >= 0 {
			fmt.Fprintf(&out, "diff --git a/%s b/%s\n", e.Rel, e.Rel)
			if e.Create {
				out.WriteString("new file mode 100644\n")
			}
			d = d[i+1:]
		}
		out.Write(d)
	}
	return out.Bytes()
}

// Write applies the adoption: each file is written atomically, a new one
// only if it still does not exist, an edited one only if it is unchanged
// since the adoption was worked out.
func (a *Adoption) Write() error {
	for _, e := range a.Edits {
		cur, err := os.ReadFile(e.Path)
		switch {
		case e.Create && err == nil:
			return fmt.Errorf("adopt: %s appeared meanwhile: run bottle adopt again", e.Path)
		case !e.Create && err != nil:
			return fmt.Errorf("adopt: %w", err)
		case !e.Create && !bytes.Equal(cur, e.Old):
			return fmt.Errorf("adopt: %s changed meanwhile: run bottle adopt again", e.Path)
		}
		if err := state.WriteFileAtomic(e.Path, e.New, 0o644); err != nil {
			return fmt.Errorf("adopt: %w", err)
		}
	}
	return nil
}

// Adopt works out the change to the project that carries identity's
// approved capabilities into its agent: appended, with a comment naming
// each request, its reason and date, to the agent's Dockerfile; or, for an
// image agent, in a new Dockerfile next to bottle.hcl (FROM the image) that
// the agent block then names instead of its image. Approvals already in
// the Dockerfile (by request id) are left out, so adopting twice is a no-op.
func (r *Runner) Adopt(identity string, load func(path string, vars map[string]string) (*config.Config, error)) (*Adoption, error) {
	dir, err := r.Home.Open(identity)
	if err != nil {
		return nil, err
	}
	md, err := dir.ReadMetadata()
	if err != nil {
		return nil, err
	}
	if load == nil {
		load = func(path string, vars map[string]string) (*config.Config, error) {
			return loadWithVarFile(path, vars, md.VarFile)
		}
	}
	cfg, err := load(md.ConfigPath, md.Vars)
	if err != nil {
		return nil, fmt.Errorf("adopt %s: %w", identity, err)
	}
	b := cfg.Bottle(md.Bottle)
	if b == nil || b.Agent == nil {
		return nil, fmt.Errorf("adopt %s: %s no longer declares bottle %q", identity, md.ConfigPath, md.Bottle)
	}
	approvals, err := approvalsOf(dir)
	if err != nil {
		return nil, err
	}
	if len(approvals) == 0 {
		return nil, fmt.Errorf("adopt %s: no capability was approved for it (bottle approve %s grants one)", identity, identity)
	}
	ad := &Adoption{Identity: identity, Agent: b.Agent.Name}
	cfgDir := filepath.Dir(md.ConfigPath)
	if df := b.Agent.Dockerfile; df != "" {
		old, err := os.ReadFile(df)
		if err != nil {
			return nil, fmt.Errorf("adopt %s: %w", identity, err)
		}
		ad.Approvals = notIn(approvals, old)
		if len(ad.Approvals) > 0 {
			ad.Edits = append(ad.Edits, FileEdit{Path: df, Rel: rel(cfgDir, df), Old: old, New: appendLines(old, identity, ad.Approvals)})
		}
		return ad, nil
	}
	edit, created, err := r.switchToDockerfile(cfgDir, b.Agent, identity, approvals)
	if err != nil {
		return nil, fmt.Errorf("adopt %s: %w", identity, err)
	}
	ad.Approvals = approvals
	ad.Edits = append(ad.Edits, created, edit)
	return ad, nil
}

// switchToDockerfile is the adoption for an image agent: a Dockerfile
// <agent>.Dockerfile next to the file that declares the agent, FROM its
// image plus the approved lines, and that file's agent block with
// image = "..." replaced, in place, by dockerfile = "<agent>.Dockerfile".
func (r *Runner) switchToDockerfile(cfgDir string, a *config.Agent, identity string, approvals []Adopted) (hclEdit, dockerfile FileEdit, err error) {
	file := a.DeclRange.Filename
	src, err := os.ReadFile(file)
	if err != nil {
		return FileEdit{}, FileEdit{}, err
	}
	name := a.Name + ".Dockerfile"
	dfPath := filepath.Join(filepath.Dir(file), name)
	if _, err := os.Lstat(dfPath); !errors.Is(err, fs.ErrNotExist) {
		return FileEdit{}, FileEdit{}, fmt.Errorf("%s exists already: move it away, or point agent %q at it (dockerfile = %q) and adopt again", dfPath, a.Name, name)
	}
	f, diags := hclwrite.ParseConfig(src, file, hcl.InitialPos)
	if diags.HasErrors() {
		return FileEdit{}, FileEdit{}, fmt.Errorf("parse %s: %s", file, diags.Error())
	}
	var block *hclwrite.Block
	for _, bl := range f.Body().Blocks() {
		if bl.Type() == "agent" && len(bl.Labels()) == 1 && bl.Labels()[0] == a.Name {
			block = bl
		}
	}
	if block == nil || block.Body().GetAttribute("image") == nil {
		return FileEdit{}, FileEdit{}, fmt.Errorf("%s has no agent %q block with an image attribute to replace", file, a.Name)
	}
	body := block.Body()
	body.RenameAttribute("image", "dockerfile")
	body.SetAttributeValue("dockerfile", cty.StringVal(name))
	out := hclwrite.Format(f.Bytes())
	if _, d := hclsyntax.ParseConfig(out, file, hcl.InitialPos); d.HasErrors() {
		return FileEdit{}, FileEdit{}, fmt.Errorf("the edited %s does not parse: %s", file, d.Error())
	}
	head := fmt.Sprintf("# The image of agent %q, made by bottle adopt from its image so that the\n"+
		"# capabilities approved for its bottles are part of it.\nFROM %s\n", a.Name, a.Image)
	hclEdit = FileEdit{Path: file, Rel: rel(cfgDir, file), Old: src, New: out}
	dockerfile = FileEdit{Path: dfPath, Rel: rel(cfgDir, dfPath), New: appendLines([]byte(head), identity, approvals), Create: true}
	return hclEdit, dockerfile, nil
}

// adoptMark starts the comment of each adopted request: it is how adopt
// knows a request is in the project already.
const adoptMark = "# bottle request "

func appendLines(old []byte, identity string, approvals []Adopted) []byte {
	var b bytes.Buffer
	b.Write(old)
	if len(old) > 0 && !bytes.HasSuffix(old, []byte("\n")) {
		b.WriteByte('\n')
	}
	for _, ap := range approvals {
		// Reasons were checked for control characters when the request
		// was read: the comment stays one line.
		fmt.Fprintf(&b, "\n%s%s, approved %s for %s: %s\n", adoptMark, ap.Request, ap.Time.Format("2006-01-02"), identity, ap.Reason)
		for _, l := range ap.Lines {
			b.WriteString(strings.TrimSpace(l) + "\n")
		}
	}
	return b.Bytes()
}

func notIn(approvals []Adopted, dockerfile []byte) []Adopted {
	var out []Adopted
	for _, ap := range approvals {
		if !bytes.Contains(dockerfile, []byte(adoptMark+ap.Request+",")) {
			out = append(out, ap)
		}
	}
	return out
}

// maxAudit caps the audit log adopt reads.
const maxAudit = 64 << 20

// approvalsOf reads the approvals of an identity from its audit log (which
// only bottle writes), in order.
func approvalsOf(dir *state.Dir) ([]Adopted, error) {
	f, err := os.Open(dir.Join(state.AuditFile))
	if err != nil {
		return nil, fmt.Errorf("adopt %s: %w", dir.Identity, err)
	}
	defer f.Close()
	var out []Adopted
	sc := bufio.NewScanner(io.LimitReader(f, maxAudit))
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		var ev state.AuditEvent
		if json.Unmarshal(sc.Bytes(), &ev) != nil || ev.Event != "approval" {
			continue
		}
		d := ev.Details
		if d["request"] == "" || d["lines"] == "" {
			continue
		}
		out = append(out, Adopted{Request: d["request"], Reason: d["reason"], Lines: strings.Split(d["lines"], "\n"), Time: ev.Time})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("adopt %s: read the audit log: %w", dir.Identity, err)
	}
	return out, nil
}

func rel(base, p string) string {
	if r, err := filepath.Rel(base, p); err == nil && !strings.HasPrefix(r, "..") {
		return filepath.ToSlash(r)
	}
	return filepath.ToSlash(p)
}
