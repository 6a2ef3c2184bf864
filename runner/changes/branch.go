package changes

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// BranchOptions say where a branch export goes.
type BranchOptions struct {
	// Name is the branch (refs/heads/Name).
	Name string
	// Replace lets the export move an existing branch of that name (the
	// identity's own bottle/<identity>); otherwise it must not exist.
	Replace bool
	// Message is the commit message.
	Message string
}

// BranchResult is what a branch export made.
type BranchResult struct {
	Branch string
	Commit string
	// Parent is the commit the bottle was launched from.
	Parent string
	// Ignored are changed paths git ignores: left off the branch.
	Ignored []string
	// Empty means no change reached the branch (all were ignored or under
	// .git): no commit was made.
	Empty bool
}

// ErrNotGit means a branch was asked of a folder that was not in a git
// work tree with a commit at launch.
var ErrNotGit = errors.New("the folder was not on a git commit when the bottle was launched")

// Branch commits the set onto a branch of the user's repository: the
// commit's parent is the launch commit and its tree is that commit's tree
// with each changed path set to what the agent left (so host changes that
// were uncommitted at launch are on it only in the files the agent changed
// too). Only git plumbing in a temporary index is used: the user's working
// tree, index, HEAD and other refs are not touched, no hook runs, and
// nothing of the workspace's own .git is read.
func (s *Set) Branch(ctx context.Context, base *Manifest, opts BranchOptions) (*BranchResult, error) {
	g := base.Git
	if g == nil || g.Commit == "" {
		return nil, fmt.Errorf("export %s as a branch: %w: export it as a patch instead (--patch FILE)", base.Dir, ErrNotGit)
	}
	git := gitCmd{top: g.Top}
	ref := "refs/heads/" + opts.Name
	if strings.HasPrefix(opts.Name, "-") {
		return nil, fmt.Errorf("branch name %q: it must not start with -", opts.Name)
	}
	if _, err := git.run(ctx, nil, "check-ref-format", ref); err != nil {
		return nil, fmt.Errorf("branch name %q is not a valid git branch name: %w", opts.Name, err)
	}
	if head, err := git.line(ctx, "symbolic-ref", "-q", "HEAD"); err == nil && head == ref {
		return nil, fmt.Errorf("branch %s is checked out: switch to another branch first, or export to another name", opts.Name)
	}
	res := &BranchResult{Branch: opts.Name, Parent: g.Commit}
	changes, err := s.tracked(ctx, git, g.Prefix, res)
	if err != nil {
		return nil, err
	}
	if len(changes) == 0 {
		res.Empty = true
		return res, nil
	}

	tmp, err := os.MkdirTemp("", "bottle-index-")
	if err != nil {
		return nil, fmt.Errorf("export a branch: %w", err)
	}
	defer os.RemoveAll(tmp)
	idx := gitCmd{top: g.Top, env: []string{
		"GIT_INDEX_FILE=" + filepath.Join(tmp, "index"),
		"GIT_AUTHOR_NAME=bottle", "GIT_AUTHOR_EMAIL=bottle@localhost",
		"GIT_COMMITTER_NAME=bottle", "GIT_COMMITTER_EMAIL=bottle@localhost",
	}}
	if _, err := idx.run(ctx, nil, "read-tree", g.Commit); err != nil {
		return nil, err
	}
	ids, err := s.hashObjects(ctx, idx, changes)
	if err != nil {
		return nil, err
	}
	var info bytes.Buffer
	for i, c := range changes {
		if c.New == nil {
			fmt.Fprintf(&info, "0 %s\t%s%s\x00", strings.Repeat("0", 40), g.Prefix, c.Path)
			continue
		}
		if c.Old != nil && c.Old.Type != c.New.Type {
			fmt.Fprintf(&info, "0 %s\t%s%s\x00", strings.Repeat("0", 40), g.Prefix, c.Path)
		}
		fmt.Fprintf(&info, "%s %s\t%s%s\x00", c.New.GitMode(), ids[i], g.Prefix, c.Path)
	}
	if _, err := idx.run(ctx, &info, "update-index", "-z", "--index-info"); err != nil {
		return nil, err
	}
	tree, err := idx.line(ctx, "write-tree")
	if err != nil {
		return nil, err
	}
	if parent, err := idx.line(ctx, "rev-parse", g.Commit+"^{tree}"); err == nil && parent == tree {
		res.Empty = true
		return res, nil
	}
	msg := opts.Message
	if msg == "" {
		msg = "Changes made in a bottle"
	}
	if res.Commit, err = idx.line(ctx, "commit-tree", tree, "-p", g.Commit, "-m", msg); err != nil {
		return nil, err
	}
	// Without Replace the empty old value makes update-ref refuse a branch
	// that exists: nothing of the user's is ever moved.
	args := []string{"update-ref", "-m", "bottle export", ref, res.Commit}
	if !opts.Replace {
		args = append(args, "")
	}
	if _, err := idx.run(ctx, nil, args...); err != nil {
		if !opts.Replace {
			return nil, fmt.Errorf("branch %s exists already: name another with --branch, or delete it (git branch -D %s): %w", opts.Name, opts.Name, err)
		}
		return nil, err
	}
	return res, nil
}

// tracked is the changes that go on the branch: those whose path git does
// not ignore (a tracked file is never ignored).
func (s *Set) tracked(ctx context.Context, git gitCmd, prefix string, res *BranchResult) ([]Change, error) {
	if len(s.Changes) == 0 {
		return nil, nil
	}
	var in bytes.Buffer
	for _, c := range s.Changes {
		in.WriteString(prefix + c.Path + "\x00")
	}
	out, _, err := git.runCode(ctx, &in, 1, "check-ignore", "-z", "--stdin")
	if err != nil {
		return nil, err
	}
	ignored := map[string]bool{}
	for _, p := range strings.Split(string(out), "\x00") {
		if p != "" {
			ignored[strings.TrimPrefix(p, prefix)] = true
		}
	}
	var keep []Change
	for _, c := range s.Changes {
		if ignored[c.Path] {
			res.Ignored = append(res.Ignored, c.Path)
			continue
		}
		keep = append(keep, c)
	}
	return keep, nil
}

// hashObjects writes the new contents into the repository's object store
// (objects only: no ref points at them until the commit) and returns their
// ids by change. Contents go in as they are (--no-filters): the agent's
// bytes, not what a clean filter would make of them.
func (s *Set) hashObjects(ctx context.Context, git gitCmd, changes []Change) ([]string, error) {
	var paths bytes.Buffer
	var which []int
	for i, c := range changes {
		if c.New == nil {
			continue
		}
		blob := c.Blob
		if c.New.Type == Symlink {
			var err error
			if blob, err = s.Store.Put(strings.NewReader(c.New.Link), int64(len(c.New.Link))); err != nil {
				return nil, err
			}
		}
		if blob == "" {
			return nil, fmt.Errorf("%s: its content was not kept", c.Path)
		}
		paths.WriteString(s.Store.Path(blob) + "\n")
		which = append(which, i)
	}
	ids := make([]string, len(changes))
	if len(which) == 0 {
		return ids, nil
	}
	out, err := git.run(ctx, &paths, "hash-object", "-w", "--no-filters", "--stdin-paths")
	if err != nil {
		return nil, err
	}
	lines := strings.Fields(string(out))
	if len(lines) != len(which) {
		return nil, fmt.Errorf("git hash-object gave %d ids for %d files", len(lines), len(which))
	}
	for k, i := range which {
		ids[i] = lines[k]
	}
	return ids, nil
}
