package buildctx

import (
	"bytes"
	"path"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// uses is the part of a build context a Dockerfile can read: the sources of
// its COPY and ADD instructions that come from the context. A nil *uses
// means the whole context (a `COPY . …`, or anything Used cannot be sure
// of), which is always a correct answer, only a costlier one.
type uses struct {
	// sources are cleaned, slash-separated, relative to the context root;
	// they may hold filepath.Match wildcards, matched one path component
	// at a time as the legacy builder does.
	sources []string
}

// usedSources reads which context files dockerfile's build can see. It
// answers nil (everything) whenever it cannot be sure: a Dockerfile the
// parser refuses (the build reports it), a source that names a build
// argument or variable, a source that is the whole context or leaves it,
// `**`, or a RUN --mount (which reads the context without COPY).
func usedSources(dockerfile []byte) *uses {
	res, err := parser.Parse(bytes.NewReader(dockerfile))
	if err != nil {
		return nil
	}
	u := &uses{}
	for _, n := range res.AST.Children {
		switch strings.ToLower(n.Value) {
		case "copy", "add":
			if !u.addSources(n) {
				return nil
			}
		case "run":
			for _, f := range n.Flags {
				if strings.HasPrefix(f, "--mount") {
					return nil
				}
			}
		}
		// ONBUILD instructions run in builds FROM this image, not in this
		// one; triggers inherited from a base image are read by the
		// builder, which we cannot see, and are the base image's own
		// business (a base image that COPYs context files on build is
		// rare and would be re-read whenever the base changes).
	}
	return u
}

// addSources adds the context sources of one COPY or ADD and reports
// whether it could.
func (u *uses) addSources(n *parser.Node) bool {
	for _, f := range n.Flags {
		if strings.HasPrefix(f, "--from=") || f == "--from" {
			return true // another stage or an image: no context files
		}
	}
	var args []string
	for a := n.Next; a != nil; a = a.Next {
		args = append(args, a.Value)
	}
	if len(args) < 2 {
		return true // the builder refuses it
	}
	for _, src := range args[:len(args)-1] {
		switch {
		case strings.HasPrefix(src, "<<"):
			continue // a heredoc: inline content, part of the Dockerfile
		case isRemote(src):
			// ADD of a URL or git repository: no context file. Its
			// content is not hashed; the builder's own cache decides.
			continue
		case strings.ContainsAny(src, "$\\") || strings.Contains(src, "**"):
			return false
		}
		clean := path.Clean("/" + src)[1:]
		if clean == "" || strings.HasPrefix(path.Clean(src), "..") {
			return false // the whole context, or outside of it
		}
		if _, err := path.Match(clean, ""); err != nil {
			return false // a malformed pattern: the builder reports it
		}
		u.sources = append(u.sources, clean)
	}
	return true
}

// isRemote reports whether an ADD source is fetched rather than read from
// the context.
func isRemote(src string) bool {
	return strings.Contains(src, "://") || strings.HasPrefix(src, "git@")
}

// match reports how the context path rel relates to the sources: used
// (rel, or a directory above it, is a source, so its entry is hashed),
// named (rel itself is a source) and below (a source may lie below rel, so
// a directory must be walked).
func (u *uses) match(rel string) (used, named, below bool) {
	parts := strings.Split(rel, "/")
	for _, src := range u.sources {
		sp := strings.Split(src, "/")
		n := min(len(sp), len(parts))
		if !componentsMatch(sp[:n], parts[:n]) {
			continue
		}
		switch {
		case len(parts) == len(sp):
			used, named = true, true
		case len(parts) > len(sp):
			used = true
		default:
			below = true
		}
	}
	return used, named, below
}

// componentsMatch matches path components one by one: `*` never crosses a
// slash, as in the legacy builder's filepath.Match over whole paths.
func componentsMatch(pats, names []string) bool {
	for i, p := range pats {
		ok, err := path.Match(p, names[i])
		if err != nil || !ok {
			return false
		}
	}
	return true
}
