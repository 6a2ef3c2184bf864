package fake

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"mvdan.cc/sh/v3/expand"
	"mvdan.cc/sh/v3/syntax"

	"github.com/bottle-dev/bottle/backend"
	"github.com/bottle-dev/bottle/backend/buildctx"
)

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	cmd  string // upper case
	args string
	line string
}

func parseDockerfile(content string) []instruction {
	var out []instruction
	var cur strings.Builder
	for _, raw := range strings.Split(content, "\n") {
		line := strings.TrimSpace(raw)
		if cur.Len() == 0 && (line == "" || strings.HasPrefix(line, "#")) {
			continue
		}
		if cont, ok := strings.CutSuffix(line, "\\"); ok {
			cur.WriteString(cont + " ")
			continue
		}
		cur.WriteString(line)
		full := strings.TrimSpace(cur.String())
		cur.Reset()
		word, rest, _ := strings.Cut(full, " ")
		out = append(out, instruction{cmd: strings.ToUpper(word), args: strings.TrimSpace(rest), line: full})
	}
	return out
}

// build runs a Dockerfile the way the fake can: FROM, RUN (with the fake's
// shell), COPY and ADD from the context (.dockerignore applied, --chown
// honoured), ENV, WORKDIR, USER, LABEL, CMD and ENTRYPOINT. ARG, EXPOSE,
// VOLUME and the like are accepted and ignored; anything else fails.
func (b *Backend) build(ctx context.Context, content, contextDir string, p backend.Progress) (*image, error) {
	steps := parseDockerfile(content)
	var im *image
	var ctxFS *vfs
	for i, ins := range steps {
		progress(p, fmt.Sprintf("Step %d/%d : %s", i+1, len(steps), ins.line))
		if im == nil && ins.cmd != "FROM" && ins.cmd != "ARG" {
			return nil, fmt.Errorf("%s before FROM", ins.cmd)
		}
		var err error
		switch ins.cmd {
		case "FROM":
			ref, _, _ := strings.Cut(ins.args, " ")
			im = b.pull(ref, p).derive()
		case "RUN":
			err = runStep(ctx, im, ins.args, p)
		case "COPY", "ADD":
			if ctxFS == nil {
				if ctxFS, err = loadContext(ctx, contextDir); err != nil {
					return nil, err
				}
			}
			err = copyStep(ctxFS, im, ins.args)
		case "ENV":
			err = envStep(im, ins.args)
		case "WORKDIR":
			im.workdir = path.Join(firstNonEmpty(im.workdir, "/"), ins.args)
			err = im.fs.mkdirAll(im.workdir, 0o755, false)
		case "USER":
			im.user = ins.args
		case "LABEL":
			var words []string
			words, err = literalWords(ins.args)
			for _, w := range words {
				k, v, _ := strings.Cut(w, "=")
				im.labels[k] = v
			}
		case "CMD", "ENTRYPOINT":
			im.cmd = commandForm(ins.args)
		case "ARG", "EXPOSE", "VOLUME", "STOPSIGNAL", "HEALTHCHECK", "SHELL", "ONBUILD", "MAINTAINER":
		default:
			err = fmt.Errorf("unknown instruction %s", ins.cmd)
		}
		if err != nil {
			return nil, fmt.Errorf("step %d (%s): %w", i+1, ins.line, err)
		}
	}
	if im == nil {
		return nil, fmt.Errorf("the Dockerfile has no FROM")
	}
	return im, nil
}

// literalWords splits a Dockerfile instruction's arguments into words
// with quotes and escapes removed, leaving $VAR references as written.
func literalWords(s string) ([]string, error) {
	keep := &expand.Config{} // no Env, no ReadDir: nothing expands, nothing globs
	var out []string
	var werr error
	err := syntax.NewParser(syntax.Variant(syntax.LangPOSIX)).Words(strings.NewReader(s), func(w *syntax.Word) bool {
		// A reference stays as written, as literal text; Fields then
		// removes the quotes and escapes.
		syntax.Walk(w, func(n syntax.Node) bool {
			parts := partsOf(n)
			for i, p := range parts {
				if pe, ok := p.(*syntax.ParamExp); ok && pe.Param != nil {
					parts[i] = &syntax.Lit{Value: "$" + pe.Param.Value}
				}
			}
			return true
		})
		fields, err := expand.Fields(keep, w)
		if err != nil {
			werr = err
			return false
		}
		out = append(out, fields...)
		return true
	})
	return out, errors.Join(err, werr)
}

// partsOf returns the word parts a node holds directly.
func partsOf(n syntax.Node) []syntax.WordPart {
	switch n := n.(type) {
	case *syntax.Word:
		return n.Parts
	case *syntax.DblQuoted:
		return n.Parts
	}
	return nil
}

// commandForm reads the exec form (a JSON array) or the shell form.
func commandForm(args string) []string {
	var argv []string
	if strings.HasPrefix(args, "[") && json.Unmarshal([]byte(args), &argv) == nil {
		return argv
	}
	return []string{"/bin/sh", "-c", args}
}

func runStep(ctx context.Context, im *image, args string, p backend.Progress) error {
	im.fs.uid, im.fs.gid = numericOwner(im.user)
	out := &lineProgress{p: p}
	sh := &shell{fs: im.fs}
	code := sh.runArgv(ctx, commandForm(args), mergeEnv(im.env), firstNonEmpty(im.workdir, "/"), stdio{out: out, err: out})
	out.flush()
	if code != 0 {
		return fmt.Errorf("the command returned a non-zero code: %d", code)
	}
	return nil
}

func envStep(im *image, args string) error {
	words, err := literalWords(args)
	if err != nil || len(words) == 0 {
		return fmt.Errorf("ENV needs KEY=VALUE")
	}
	if !strings.Contains(words[0], "=") {
		key, val, _ := strings.Cut(args, " ")
		im.setEnv(key, strings.TrimSpace(val))
		return nil
	}
	for _, w := range words {
		k, v, _ := strings.Cut(w, "=")
		im.setEnv(k, v)
	}
	return nil
}

func copyStep(ctxFS *vfs, im *image, args string) error {
	words, err := literalWords(args)
	if err != nil {
		return err
	}
	var owner *[2]int
	for len(words) > 0 && strings.HasPrefix(words[0], "--") {
		flag, val, _ := strings.Cut(words[0], "=")
		switch flag {
		case "--chown":
			uid, gid := numericOwner(val)
			owner = &[2]int{uid, gid}
		case "--chmod", "--link":
		default:
			return fmt.Errorf("COPY %s is not supported", flag)
		}
		words = words[1:]
	}
	if len(words) < 2 {
		return fmt.Errorf("COPY needs a source and a destination")
	}
	dst := words[len(words)-1]
	if !path.IsAbs(dst) {
		dst = path.Join(firstNonEmpty(im.workdir, "/"), dst) + map[bool]string{true: "/"}[strings.HasSuffix(dst, "/")]
	}
	for _, src := range words[:len(words)-1] {
		if err := copyTree(ctxFS, path.Join("/", src), im.fs, dst, owner); err != nil {
			return err
		}
	}
	return nil
}

// loadContext reads the build context into a scratch file system, with
// .dockerignore applied.
func loadContext(ctx context.Context, dir string) (*vfs, error) {
	var excludes []string
	if data, err := os.ReadFile(filepath.Join(dir, ".dockerignore")); err == nil {
		for _, l := range strings.Split(string(data), "\n") {
			if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
				excludes = append(excludes, l)
			}
		}
	}
	v := newVFS()
	delete(v.nodes, "/tmp") // only the context's own files
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(buildctx.Tar(ctx, dir, excludes, pw)) }()
	err := v.extract("/", pr, nil)
	pr.Close()
	if err != nil {
		return nil, fmt.Errorf("read the build context %s: %w", dir, err)
	}
	return v, nil
}

// lineProgress turns a build step's output into progress lines.
type lineProgress struct {
	p   backend.Progress
	buf []byte
}

func (l *lineProgress) Write(b []byte) (int, error) {
	l.buf = append(l.buf, b...)
	for {
		i := strings.IndexByte(string(l.buf), '\n')
		if i < 0 {
			return len(b), nil
		}
		progress(l.p, string(l.buf[:i]))
		l.buf = l.buf[i+1:]
	}
}

func (l *lineProgress) flush() {
	if len(l.buf) > 0 {
		progress(l.p, string(l.buf))
		l.buf = nil
	}
}
