package buildctx

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func contextOf(t *testing.T, dockerfile, dir string) ([]string, map[string]tarEntry) {
	t.Helper()
	var buf bytes.Buffer
	if err := Context(t.Context(), dockerfile, dir, &buf); err != nil {
		t.Fatalf("Context: %v", err)
	}
	return readTar(t, buf.Bytes())
}

func TestContextHonoursDockerignore(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "Dockerfile"), "FROM busybox\n", 0o644)
	write(t, filepath.Join(dir, "app.go"), "package app", 0o644)
	write(t, filepath.Join(dir, "secret.env"), "KEY=1", 0o600)
	write(t, filepath.Join(dir, "vendor", "x.go"), "x", 0o644)
	// The Dockerfile itself is ignored: the builder must still get it.
	write(t, filepath.Join(dir, ".dockerignore"), "# comment\n*.env\nvendor\nDockerfile\n", 0o644)

	names, got := contextOf(t, filepath.Join(dir, "Dockerfile"), dir)
	want := []string{DockerfileName, ".dockerignore", "app.go"}
	if !slices.Equal(names, want) {
		t.Fatalf("entries = %q, want %q", names, want)
	}
	if d := got[DockerfileName].data; d != "FROM busybox\n" {
		t.Errorf("Dockerfile = %q", d)
	}
	ignore := got[".dockerignore"].data
	if !strings.HasPrefix(ignore, "# comment\n*.env\n") || !strings.HasSuffix(ignore, "\n"+DockerfileName+"\n") {
		t.Errorf(".dockerignore sent = %q: want the original plus %s last", ignore, DockerfileName)
	}
}

func TestContextDockerfileOutside(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "hello.txt"), "hi", 0o644)
	// A stale file with our reserved name is replaced, never sent twice.
	write(t, filepath.Join(dir, DockerfileName), "stale", 0o644)
	df := filepath.Join(t.TempDir(), "agent.Dockerfile")
	write(t, df, "FROM scratch\nCOPY hello.txt /\n", 0o644)

	names, got := contextOf(t, df, dir)
	want := []string{DockerfileName, ".dockerignore", "hello.txt"}
	if !slices.Equal(names, want) {
		t.Fatalf("entries = %q, want %q", names, want)
	}
	if d := got[DockerfileName].data; d != "FROM scratch\nCOPY hello.txt /\n" {
		t.Errorf("Dockerfile = %q", d)
	}
	// No .dockerignore of the user's: ours hides both generated files.
	if d := got[".dockerignore"].data; d != DockerfileName+"\n.dockerignore\n" {
		t.Errorf(".dockerignore = %q", d)
	}
}

func TestContextErrors(t *testing.T) {
	dir := t.TempDir()
	if err := Context(t.Context(), filepath.Join(dir, "nope"), dir, &bytes.Buffer{}); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing Dockerfile: %v", err)
	}
	write(t, filepath.Join(dir, "Dockerfile"), "FROM x", 0o644)
	write(t, filepath.Join(dir, ".dockerignore"), "[\n", 0o644)
	if err := Context(t.Context(), filepath.Join(dir, "Dockerfile"), dir, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), ".dockerignore") {
		t.Errorf("bad .dockerignore: %v, want an error naming it", err)
	}
}

func TestContextWithLabelsAppendsOneLine(t *testing.T) {
	dir := t.TempDir()
	df := filepath.Join(dir, "Dockerfile")
	if err := os.WriteFile(df, []byte("FROM busybox"), 0o644); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	labels := map[string]string{"b.key": `va"l`, "a.key": "x"}
	if err := ContextWithLabels(t.Context(), df, dir, labels, &buf); err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(&buf)
	for {
		h, err := tr.Next()
		if err != nil {
			t.Fatalf("no %s in the context: %v", DockerfileName, err)
		}
		if h.Name != DockerfileName {
			continue
		}
		got, _ := io.ReadAll(tr)
		want := "FROM busybox\nLABEL \"a.key\"=\"x\" \"b.key\"=\"va\\\"l\"\n"
		if string(got) != want {
			t.Fatalf("Dockerfile sent:\n%q\nwant\n%q", got, want)
		}
		break
	}
	h1, err := Hash(df, dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(df, []byte("FROM busybox"), 0o644); err != nil {
		t.Fatal(err)
	}
	if h2, _ := Hash(df, dir); h1 != h2 {
		t.Fatal("labels changed the content hash")
	}
}
