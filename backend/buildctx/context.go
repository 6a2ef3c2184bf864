package buildctx

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/moby/patternmatcher/ignorefile"
)

// DockerfileName is where Context puts the Dockerfile inside the build
// context; pass it as the build's Dockerfile path. A fixed name lets a
// Dockerfile that lives outside the context, or that .dockerignore excludes,
// still reach the builder (the docker CLI does the same with a random name).
// A context file with this name at the root is replaced.
const DockerfileName = ".bottle.Dockerfile"

const dockerignoreName = ".dockerignore"

// Context writes the build context of dockerfile to w: the contents of
// contextDir minus what contextDir/.dockerignore excludes, plus the
// Dockerfile as DockerfileName. The .dockerignore sent along also names
// DockerfileName, so the daemon drops that copy before `COPY . …` sees it.
func Context(ctx context.Context, dockerfile, contextDir string, w io.Writer) error {
	return ContextWithLabels(ctx, dockerfile, contextDir, nil, w)
}

// ContextWithLabels is Context with one LABEL instruction appended to the
// Dockerfile it sends. The legacy builder turns every build-time label into
// a step of its own, each with an intermediate container; one line costs one
// step. The content hash (Hash) is of the Dockerfile as written, without it.
func ContextWithLabels(ctx context.Context, dockerfile, contextDir string, labels map[string]string, w io.Writer) error {
	src, err := readSources(dockerfile, contextDir)
	if err != nil {
		return err
	}
	if len(labels) > 0 {
		src.dockerfile = appendLabels(src.dockerfile, labels)
	}
	tw := newTarWriter(w)
	wk, err := src.walker(tw.add)
	if err != nil {
		return err
	}
	if err := tw.addBytes(DockerfileName, src.dockerfile, src.mtime); err != nil {
		return err
	}
	if err := tw.addBytes(dockerignoreName, src.ignore, src.mtime); err != nil {
		return err
	}
	if err := wk.walk(ctx); err != nil {
		return fmt.Errorf("build context %s: %w", contextDir, err)
	}
	if err := tw.close(); err != nil {
		return fmt.Errorf("build context %s: %w", contextDir, err)
	}
	return nil
}

// sources is what Context and Hash both read before walking, so the hash
// always describes the bytes a build receives (the part of them its
// Dockerfile can read).
type sources struct {
	dockerfile []byte
	mtime      time.Time
	// ignore is the .dockerignore as sent to the daemon.
	ignore     []byte
	contextDir string
	excludes   []string
}

func readSources(dockerfile, contextDir string) (*sources, error) {
	df, err := os.ReadFile(dockerfile)
	if err != nil {
		return nil, fmt.Errorf("read Dockerfile: %w", err)
	}
	fi, err := os.Stat(dockerfile)
	if err != nil {
		return nil, fmt.Errorf("read Dockerfile: %w", err)
	}
	s := &sources{dockerfile: df, mtime: fi.ModTime(), contextDir: contextDir}
	data, err := os.ReadFile(filepath.Join(contextDir, dockerignoreName))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		// No .dockerignore of its own: the one we send hides itself too,
		// so `COPY . …` sees the same files as with the docker CLI.
		s.ignore = []byte(DockerfileName + "\n" + dockerignoreName + "\n")
	case err != nil:
		return nil, fmt.Errorf("read .dockerignore: %w", err)
	default:
		s.excludes, err = ignorefile.ReadAll(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("read .dockerignore: %w", err)
		}
		// Appended last so that it wins over any "!" exception before it.
		s.ignore = append(append(bytes.Clone(data), '\n'), DockerfileName+"\n"...)
	}
	return s, nil
}

// walker walks the context minus .dockerignore's exclusions, skipping the
// two files Context writes itself.
func (s *sources) walker(fn func(entry) error) (*walker, error) {
	pm, err := newMatcher(s.excludes)
	if err != nil {
		return nil, fmt.Errorf(".dockerignore: %w", err)
	}
	return &walker{
		root: s.contextDir,
		pm:   pm,
		skip: map[string]bool{DockerfileName: true, dockerignoreName: true},
		fn:   fn,
	}, nil
}

// appendLabels adds one LABEL line with the labels, sorted, quoted. A "$"
// is escaped: the builder expands variables inside double quotes.
func appendLabels(dockerfile []byte, labels map[string]string) []byte {
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b bytes.Buffer
	b.Write(dockerfile)
	if len(dockerfile) > 0 && dockerfile[len(dockerfile)-1] != '\n' {
		b.WriteByte('\n')
	}
	b.WriteString("LABEL")
	for _, k := range keys {
		fmt.Fprintf(&b, " %s=%s", labelQuote(k), labelQuote(labels[k]))
	}
	b.WriteByte('\n')
	return b.Bytes()
}

func labelQuote(s string) string {
	return strings.ReplaceAll(strconv.Quote(s), "$", `\$`)
}
