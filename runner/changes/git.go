package changes

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
)

// gitCmd runs git in the user's work tree top with a clean environment:
// no GIT_* variable of the caller's (a GIT_DIR or GIT_INDEX_FILE would
// point git elsewhere) except those in env, and never a prompt.
type gitCmd struct {
	top string
	env []string
}

// maxGitOutput caps what is read of one git command's output.
const maxGitOutput = 64 << 20

func (g gitCmd) run(ctx context.Context, stdin io.Reader, args ...string) ([]byte, error) {
	out, _, err := g.runCode(ctx, stdin, 0, args...)
	return out, err
}

// runCode is run where exit code ok (besides 0) is an answer, not a
// failure (git check-ignore exits 1 when nothing is ignored).
func (g gitCmd) runCode(ctx context.Context, stdin io.Reader, ok int, args ...string) ([]byte, int, error) {
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", g.top}, args...)...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GIT_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "GIT_TERMINAL_PROMPT=0", "GIT_OPTIONAL_LOCKS=0")
	cmd.Env = append(cmd.Env, g.env...)
	cmd.Stdin = stdin
	var out, errb bytes.Buffer
	cmd.Stdout = &limitWriter{w: &out, n: maxGitOutput}
	cmd.Stderr = &limitWriter{w: &errb, n: 4096}
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if ok != 0 && errors.As(err, &ee) && ee.ExitCode() == ok {
			return out.Bytes(), ok, nil
		}
		msg := strings.TrimSpace(errb.String())
		if msg == "" {
			return nil, 0, fmt.Errorf("git %s: %w", args[0], err)
		}
		return nil, 0, fmt.Errorf("git %s: %w: %s", args[0], err, msg)
	}
	return out.Bytes(), 0, nil
}

func (g gitCmd) line(ctx context.Context, args ...string) (string, error) {
	out, err := g.run(ctx, nil, args...)
	return strings.TrimSpace(string(out)), err
}

// limitWriter keeps the first n bytes written and drops the rest.
type limitWriter struct {
	w io.Writer
	n int
}

func (l *limitWriter) Write(p []byte) (int, error) {
	k := min(len(p), l.n)
	if k > 0 {
		if _, err := l.w.Write(p[:k]); err != nil {
			return 0, err
		}
		l.n -= k
	}
	return len(p), nil
}

// ErrNoGit means git is not installed on the host.
var ErrNoGit = errors.New("git is not installed")

// FindGit reports the git work tree dir is in, with its HEAD; nil (and no
// error) when dir is not in a work tree or git is missing.
func FindGit(ctx context.Context, dir string) (*Git, error) {
	if _, err := exec.LookPath("git"); err != nil {
		return nil, nil
	}
	g := gitCmd{top: dir}
	if inside, err := g.line(ctx, "rev-parse", "--is-inside-work-tree"); err != nil || inside != "true" {
		return nil, nil
	}
	out, err := g.line(ctx, "rev-parse", "--show-toplevel", "--show-prefix")
	if err != nil {
		return nil, err
	}
	top, prefix, _ := strings.Cut(out, "\n")
	res := &Git{Top: strings.TrimSpace(top), Prefix: strings.TrimSpace(prefix)}
	// An unborn branch has no HEAD: there is no commit to branch from.
	if head, err := g.line(ctx, "rev-parse", "--verify", "--quiet", "HEAD^{commit}"); err == nil {
		res.Commit = head
	}
	return res, nil
}
