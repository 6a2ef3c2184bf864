package state

import (
	"archive/tar"
	"bufio"
	"bytes"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// testIdentity is a valid identity used by tests that need just one.
const testIdentity = "reviewer-k3x9a"

// newHome returns a Home in a fresh temp dir.
func newHome(t *testing.T) Home {
	t.Helper()
	return Home{Path: filepath.Join(t.TempDir(), "home")}
}

// newDir creates the state dir (and queue) of testIdentity in a fresh Home.
func newDir(t *testing.T) (Home, *Dir) {
	t.Helper()
	h := newHome(t)
	d, err := h.Create(testIdentity)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	return h, d
}

// dirNames lists the names in dir, sorted.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("read dir: %v", err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	slices.Sort(names)
	return names
}

// readAudit decodes every line of the audit log; a line that is not one
// intact JSON object fails the test.
func readAudit(t *testing.T, d *Dir) []AuditEvent {
	t.Helper()
	f, err := os.Open(d.Join(AuditFile))
	if err != nil {
		if os.IsNotExist(err) {
			return nil
		}
		t.Fatalf("open audit log: %v", err)
	}
	defer f.Close()
	var events []AuditEvent
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		var ev AuditEvent
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("audit line %q is not JSON: %v", sc.Text(), err)
		}
		events = append(events, ev)
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("scan audit log: %v", err)
	}
	return events
}

// umask returns the process umask without changing it, by creating a probe
// file with mode 0777 (changing the umask would race with parallel tests).
func umask(t *testing.T) fs.FileMode {
	t.Helper()
	p := filepath.Join(t.TempDir(), "umask-probe")
	f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY, 0o777)
	if err != nil {
		t.Fatal(err)
	}
	_ = f.Close()
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return 0o777 &^ fi.Mode().Perm()
}

// tarEntry is one entry of a test tar stream.
type tarEntry struct {
	name     string
	typ      byte
	mode     int64
	body     string
	linkname string
	mtime    time.Time
}

func dirEntry(name string, mode int64) tarEntry {
	return tarEntry{name: name, typ: tar.TypeDir, mode: mode}
}

func fileEntry(name, body string, mode int64) tarEntry {
	return tarEntry{name: name, typ: tar.TypeReg, mode: mode, body: body}
}

func linkEntry(name, target string) tarEntry {
	return tarEntry{name: name, typ: tar.TypeSymlink, mode: 0o777, linkname: target}
}

// makeTar encodes entries as a tar stream (PAX, so that any name fits).
func makeTar(t testing.TB, entries ...tarEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		mt := e.mtime
		if mt.IsZero() {
			mt = time.Unix(1_700_000_000, 0)
		}
		h := &tar.Header{
			Name:     e.name,
			Typeflag: e.typ,
			Mode:     e.mode,
			Linkname: e.linkname,
			ModTime:  mt,
			Format:   tar.FormatPAX,
		}
		if e.typ == tar.TypeReg {
			h.Size = int64(len(e.body))
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatalf("tar header %q: %v", e.name, err)
		}
		if e.body != "" {
			if _, err := tw.Write([]byte(e.body)); err != nil {
				t.Fatalf("tar body %q: %v", e.name, err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatalf("tar close: %v", err)
	}
	return buf.Bytes()
}
