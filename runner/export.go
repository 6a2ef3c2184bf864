package runner

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/bottle-dev/bottle/backend"
	"github.com/bottle-dev/bottle/backend/buildctx"
	"github.com/bottle-dev/bottle/config"
	"github.com/bottle-dev/bottle/runner/changes"
	"github.com/bottle-dev/bottle/runner/state"
)

// Workspace is a copy-mode bottle's changes against its launch tree.
// Close removes the contents it kept.
type Workspace struct {
	Identity string
	Tree     *changes.Manifest
	*changes.Set
}

// Close removes the changed contents kept on the host.
func (w *Workspace) Close() error { return w.Store.Close() }

// Changes compares identity's workspace with the tree it was launched
// with: the running (or stopped) bottle's, else the workspace snapshot an
// approval kept in its state dir.
func (r *Runner) Changes(ctx context.Context, identity string) (*Workspace, error) {
	dir, err := r.Home.Open(identity)
	if err != nil {
		return nil, err
	}
	be, err := r.backendOf(dir)
	if err != nil {
		return nil, err
	}
	return r.changesOf(ctx, dir, be)
}

func (r *Runner) changesOf(ctx context.Context, dir *state.Dir, be backend.Backend) (*Workspace, error) {
	tree, err := loadTree(dir)
	if err != nil {
		return nil, err
	}
	store, err := changes.NewStore("", changes.DefaultLimits.MaxKept)
	if err != nil {
		return nil, err
	}
	pr, pw := io.Pipe()
	instance := backend.InstanceName(dir.Identity)
	_, ierr := be.Inspect(ctx, instance)
	differ, ok := be.(backend.Differ)
	switch {
	case ierr == nil && ok && exists(dir.Join(state.InImageFile)):
		set, err := comparePartial(ctx, differ, instance, tree, store)
		if err != nil {
			_ = store.Close()
			return nil, fmt.Errorf("compare the workspace of %s: %w", dir.Identity, err)
		}
		return &Workspace{Identity: dir.Identity, Tree: tree, Set: set}, nil
	case ierr == nil:
		go func() { pw.CloseWithError(be.CopyOut(ctx, instance, tree.Target, pw)) }()
	case errors.Is(ierr, backend.ErrNotFound) && dir.HasSnapshot(state.WorkspaceDir):
		go func() { pw.CloseWithError(buildctx.Tar(ctx, dir.Join(state.WorkspaceDir), nil, pw)) }()
	default:
		_ = store.Close()
		if ierr == nil || errors.Is(ierr, backend.ErrNotFound) {
			return nil, fmt.Errorf("%s has no bottle running and no workspace snapshot: nothing to compare", dir.Identity)
		}
		return nil, fmt.Errorf("look up %s: %w", dir.Identity, ierr)
	}
	set, err := changes.Compare(ctx, tree, pr, store, changes.DefaultLimits)
	_ = pr.CloseWithError(errors.New("compare ended"))
	if err != nil {
		_ = store.Close()
		return nil, fmt.Errorf("compare the workspace of %s: %w", dir.Identity, err)
	}
	return &Workspace{Identity: dir.Identity, Tree: tree, Set: set}, nil
}

// ExportOptions say where Export puts the changes: one of Branch, Patch or
// To; none means the keep policy recorded at launch (a branch
// bottle/<identity>, or a patch under $BOTTLE_HOME/results).
type ExportOptions struct {
	Branch string
	Patch  string
	To     string
	// Paths limits a patch or a folder export to these paths.
	Paths []string
}

// ExportResult says where the changes went and how to look at them.
type ExportResult struct {
	Identity string   `json:"identity"`
	Kind     string   `json:"kind"` // "branch", "patch", "folder" or "none"
	Where    string   `json:"where,omitempty"`
	Commit   string   `json:"commit,omitempty"`
	Parent   string   `json:"parent,omitempty"`
	Look     string   `json:"look,omitempty"`
	Changes  int      `json:"changes"`
	Ignored  []string `json:"ignored,omitempty"`
	Deleted  []string `json:"deleted,omitempty"`
	// GitChanges counts changes under the workspace's .git, never exported.
	GitChanges int      `json:"git_changes,omitempty"`
	Skipped    []string `json:"skipped,omitempty"`
	// Empty means the workspace had no change to export.
	Empty bool `json:"empty,omitempty"`
}

// Export writes identity's changes out (see ExportOptions).
func (r *Runner) Export(ctx context.Context, identity string, opts ExportOptions) (*ExportResult, error) {
	ws, err := r.Changes(ctx, identity)
	if err != nil {
		return nil, err
	}
	defer ws.Close()
	return r.export(ctx, ws, opts)
}

func (r *Runner) export(ctx context.Context, ws *Workspace, opts ExportOptions) (*ExportResult, error) {
	res := &ExportResult{Identity: ws.Identity, Changes: len(ws.Changes), GitChanges: len(ws.Git), Skipped: ws.Skipped}
	kind := ws.Tree.Keep
	switch {
	case opts.Branch != "":
		kind = config.KeepBranch
	case opts.Patch != "", opts.To != "":
		kind = config.KeepPatch
	case kind == config.KeepNone:
		kind = config.KeepBranch
		if ws.Tree.Git == nil || ws.Tree.Git.Commit == "" {
			kind = config.KeepPatch
		}
	}
	if kind == config.KeepBranch && (ws.Tree.Git == nil || ws.Tree.Git.Commit == "") && opts.Branch == "" {
		// keep = "branch" of a folder that was on no commit: a patch
		// keeps the work all the same.
		kind = config.KeepPatch
	}
	if ws.Empty() {
		res.Kind, res.Empty = "none", true
		return res, nil
	}
	switch {
	case opts.To != "":
		res.Kind, res.Where = "folder", opts.To
		res.Deleted, res.Look = nil, "ls -R "+opts.To
		deleted, err := ws.WriteFolder(opts.To, opts.Paths)
		res.Deleted = deleted
		return res, err
	case kind == config.KeepBranch:
		name, replace := opts.Branch, false
		if name == "" {
			name, replace = "bottle/"+ws.Identity, true
		}
		br, err := ws.Branch(ctx, ws.Tree, changes.BranchOptions{Name: name, Replace: replace, Message: commitMessage(ws)})
		if err != nil {
			return nil, err
		}
		res.Kind, res.Where, res.Commit, res.Parent, res.Ignored, res.Empty = "branch", name, br.Commit, br.Parent, br.Ignored, br.Empty
		res.Look = fmt.Sprintf("git -C %s diff HEAD...%s", shellQuote(ws.Tree.Git.Top), name)
		return res, nil
	default:
		file := opts.Patch
		if file == "" {
			file = filepath.Join(r.Home.ResultsDir(), ws.Identity+".patch")
		}
		if err := r.writePatch(ctx, ws, file, opts.Paths); err != nil {
			return nil, err
		}
		res.Kind, res.Where = "patch", file
		at := ws.Tree.Dir
		if g := ws.Tree.Git; g != nil {
			at = g.Top
		}
		res.Look = fmt.Sprintf("git -C %s apply --stat %s", shellQuote(at), shellQuote(file))
		return res, nil
	}
}

func (r *Runner) writePatch(ctx context.Context, ws *Workspace, file string, paths []string) error {
	var buf bytes.Buffer
	opts := changes.PatchOptions{Binary: true, Paths: paths}
	if g := ws.Tree.Git; g != nil {
		// Paths from the top of the work tree: git apply run anywhere in
		// it reads them so.
		opts.Prefix = g.Prefix
	}
	if err := ws.WritePatch(ctx, &buf, ws.Tree, opts); err != nil {
		return fmt.Errorf("export %s as a patch: %w", ws.Identity, err)
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return fmt.Errorf("export %s as a patch: %w", ws.Identity, err)
	}
	return state.WriteFileAtomic(file, buf.Bytes(), 0o644)
}

func commitMessage(ws *Workspace) string {
	return fmt.Sprintf("Changes made in bottle %s\n\n%d files changed by the agent, against the commit it was launched from.\n"+
		"Exported by bottle; uncommitted host changes are included only in files the agent changed too.\n",
		ws.Identity, len(ws.Changes))
}

// shellQuote quotes s for a command line the user may paste.
func shellQuote(s string) string {
	if s != "" && !bytes.ContainsAny([]byte(s), " \t\n'\"\\$`!*?[]{}()<>|&;#~") {
		return s
	}
	return "'" + string(bytes.ReplaceAll([]byte(s), []byte("'"), []byte(`'\''`))) + "'"
}

// comparePartial compares a workspace that came with the instance's image:
// the engine lists what the instance changed, and only that is copied out.
func comparePartial(ctx context.Context, d backend.Differ, instance string, tree *changes.Manifest, store *changes.Store) (*changes.Set, error) {
	diff, err := d.Changed(ctx, instance, tree.Target)
	if err != nil {
		return nil, err
	}
	var p changes.Partial
	added := map[string]bool{}
	for _, c := range diff {
		name, err := changes.CleanName(c.Path)
		if err != nil || name == "" {
			continue
		}
		switch {
		case c.Deleted:
			p.Deleted = append(p.Deleted, name)
		case c.Added:
			added[name] = true
		default:
			// A folder that changed lists its changed entries too: it is
			// not copied whole.
			if e := tree.Lookup(name); e == nil || e.Type != changes.Dir {
				p.Touched = append(p.Touched, name)
			}
		}
	}
	// An added folder comes whole: what it holds is not asked for again.
	for name := range added {
		if !addedBelow(name, added) {
			p.Touched = append(p.Touched, name)
		}
	}
	sort.Strings(p.Touched)
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(d.CopyOutPaths(ctx, instance, tree.Target, p.Touched, pw)) }()
	set, err := changes.ComparePartial(ctx, tree, pr, p, store, changes.DefaultLimits)
	_ = pr.CloseWithError(errors.New("compare ended"))
	return set, err
}

// addedBelow reports whether an ancestor of name was added too.
func addedBelow(name string, added map[string]bool) bool {
	for i := strings.LastIndexByte(name, '/'); i > 0; i = strings.LastIndexByte(name[:i], '/') {
		if added[name[:i]] {
			return true
		}
	}
	return false
}
