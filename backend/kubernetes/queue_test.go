package kubernetes

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"sort"
	"testing"
)

// The bottle's queue tar is hostile: only top-level regular files with a
// request or answer name are taken, each cut at queueMaxFile bytes.
func TestParseQueueTarTakesOnlyQueueFiles(t *testing.T) {
	data := tarBytes(t,
		tar.Header{Name: "./req-1.json", Typeflag: tar.TypeReg, Mode: 0o644, Size: 3},
		tar.Header{Name: "req-1.answer.json", Typeflag: tar.TypeReg, Mode: 0o644, Size: 2},
		tar.Header{Name: "../escape.json", Typeflag: tar.TypeReg, Size: 1},
		tar.Header{Name: "sub/req-2.json", Typeflag: tar.TypeReg, Size: 1},
		tar.Header{Name: "link.json", Typeflag: tar.TypeSymlink, Linkname: "/etc/passwd"},
		tar.Header{Name: "hard.json", Typeflag: tar.TypeLink, Linkname: "req-1.json"},
		tar.Header{Name: "dir.json", Typeflag: tar.TypeDir, Mode: 0o755},
		tar.Header{Name: ".tmp-req-3.json", Typeflag: tar.TypeReg, Size: 1},
		tar.Header{Name: "-x.json", Typeflag: tar.TypeReg, Size: 1},
		tar.Header{Name: "notes.txt", Typeflag: tar.TypeReg, Size: 1},
		tar.Header{Name: "big.json", Typeflag: tar.TypeReg, Size: queueMaxFile + 10},
	)
	files, err := parseQueueTar(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	if want := []string{"big.json", "req-1.answer.json", "req-1.json"}; !equalStrings(names, want) {
		t.Fatalf("names %v, want %v", names, want)
	}
	if len(files["big.json"].data) != queueMaxFile {
		t.Errorf("big.json: %d bytes kept, want it cut at %d", len(files["big.json"].data), queueMaxFile)
	}
	if _, err := parseQueueTar(bytes.NewReader([]byte("not a tar at all, but long enough to be read as a header block"))); err == nil {
		t.Error("garbage parsed without an error")
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Requests go to the host (never answers), without following what the
// host queue holds at the name; answers the Pod lacks or holds changed go
// back.
func TestPullRequestsAndPushAnswers(t *testing.T) {
	dir := t.TempDir()
	outside := filepath.Join(t.TempDir(), "target")
	if err := os.WriteFile(outside, []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(dir, "req-2.json")); err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.WriteFile(filepath.Join(dir, "req-1.json"), []byte("same"), 0o644))
	root, err := os.OpenRoot(dir)
	must(err)
	defer root.Close()
	inPod := map[string]queueFile{
		"req-1.json":        {data: []byte("same")},
		"req-2.json":        {data: []byte("new")},
		"req-3.answer.json": {data: []byte(`{"forged":true}`)},
		"req-4.answer.json": {data: []byte("stale")},
		"req-5.answer.json": {data: []byte("current")},
	}
	n, err := pullRequests(root, inPod)
	must(err)
	if n != 1 {
		t.Errorf("pulled %d files, want 1 (req-1 is unchanged)", n)
	}
	if got, _ := os.ReadFile(outside); string(got) != "keep" {
		t.Errorf("the link at req-2.json was followed: its target holds %q", got)
	}
	if fi, err := os.Lstat(filepath.Join(dir, "req-2.json")); err != nil || !fi.Mode().IsRegular() {
		t.Errorf("req-2.json on the host: %v, %v; want a regular file", fi, err)
	}
	if _, err := os.Lstat(filepath.Join(dir, "req-3.answer.json")); err == nil {
		t.Error("an answer the bottle wrote was taken to the host")
	}
	must(os.WriteFile(filepath.Join(dir, "req-4.answer.json"), []byte("fresh"), 0o644))
	must(os.WriteFile(filepath.Join(dir, "req-5.answer.json"), []byte("current"), 0o644))
	must(os.WriteFile(filepath.Join(dir, "req-6.answer.json"), []byte("first"), 0o644))
	must(os.Symlink(outside, filepath.Join(dir, "req-7.answer.json")))
	r, n, err := answersToPush(root, inPod)
	must(err)
	got := map[string]string{}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		must(err)
		body, _ := io.ReadAll(tr)
		got[h.Name] = string(body)
	}
	if n != 2 || len(got) != 2 || got["req-4.answer.json"] != "fresh" || got["req-6.answer.json"] != "first" {
		t.Errorf("pushed %d: %v; want req-4 (changed) and req-6 (new) only", n, got)
	}
}

func FuzzParseQueueTar(f *testing.F) {
	f.Add(tarBytes(f, tar.Header{Name: "req-1.json", Typeflag: tar.TypeReg, Mode: 0o644, Size: 2}))
	f.Add(tarBytes(f, tar.Header{Name: "../x.json", Typeflag: tar.TypeReg, Size: 1}, tar.Header{Name: "l.json", Typeflag: tar.TypeSymlink, Linkname: "/"}))
	f.Add([]byte("not a tar"))
	f.Fuzz(func(t *testing.T, data []byte) {
		files, err := parseQueueTar(bytes.NewReader(data))
		if err != nil {
			return
		}
		if len(files) > queueMaxFiles {
			t.Fatalf("%d files, over %d", len(files), queueMaxFiles)
		}
		for name, f := range files {
			if !queueName.MatchString(name) || len(f.data) > queueMaxFile {
				t.Fatalf("kept %q (%d bytes)", name, len(f.data))
			}
		}
	})
}
