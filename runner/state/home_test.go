package state

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func TestHomeFromEnv(t *testing.T) {
	cwd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	userHome, userHomeErr := os.UserHomeDir()
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"absolute BOTTLE_HOME", map[string]string{"BOTTLE_HOME": "/srv/bottle", "HOME": "/home/u"}, "/srv/bottle"},
		{"BOTTLE_HOME is cleaned", map[string]string{"BOTTLE_HOME": "/srv//bottle/./x/.."}, "/srv/bottle"},
		{"relative BOTTLE_HOME is made absolute", map[string]string{"BOTTLE_HOME": "rel/home"}, filepath.Join(cwd, "rel/home")},
		{"default under HOME", map[string]string{"HOME": "/home/u"}, "/home/u/.bottle"},
		{"empty BOTTLE_HOME means unset", map[string]string{"BOTTLE_HOME": "", "HOME": "/home/u"}, "/home/u/.bottle"},
	}
	if userHomeErr == nil {
		tests = append(tests, struct {
			name string
			env  map[string]string
			want string
		}{"no HOME in the passed env falls back to the user's home", nil, filepath.Join(userHome, ".bottle")})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := HomeFromEnv(env(tt.env))
			if err != nil {
				t.Fatal(err)
			}
			if h.Path != tt.want {
				t.Errorf("Path = %q, want %q", h.Path, tt.want)
			}
			if !filepath.IsAbs(h.Path) {
				t.Errorf("Path %q is not absolute", h.Path)
			}
			if h.StateRoot() != filepath.Join(tt.want, "state") {
				t.Errorf("StateRoot = %q", h.StateRoot())
			}
			if h.LockDir() != filepath.Join(tt.want, "locks") {
				t.Errorf("LockDir = %q", h.LockDir())
			}
		})
	}
}

func TestHomeDirValidates(t *testing.T) {
	h := newHome(t)
	for _, id := range []string{"", "../x", "a/b", "Reviewer-k3x9a", "x--abcde"} {
		if d, err := h.Dir(id); err == nil {
			t.Errorf("Dir(%q) = %v, want an error", id, d.Path)
		}
		if _, err := h.Create(id); err == nil {
			t.Errorf("Create(%q) succeeded", id)
		}
		if _, err := h.Open(id); err == nil || errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Open(%q) = %v, want a validation error", id, err)
		}
	}
	if _, err := os.Stat(h.Path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("invalid identities created %s (stat: %v)", h.Path, err)
	}
	d, err := h.Dir(testIdentity)
	if err != nil {
		t.Fatal(err)
	}
	if d.Identity != testIdentity || d.Path != filepath.Join(h.StateRoot(), testIdentity) {
		t.Errorf("Dir = %+v", d)
	}
	if d.Exists() {
		t.Error("Dir created the directory")
	}
}

func TestCreate(t *testing.T) {
	h := newHome(t)
	d, err := h.Create(testIdentity)
	if err != nil {
		t.Fatal(err)
	}
	if !d.Exists() {
		t.Fatal("state dir does not exist after Create")
	}
	fi, err := os.Stat(d.Path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		t.Errorf("state dir mode %v is open to others; only the queue is shared", perm)
	}
	q, err := os.Lstat(d.QueuePath())
	if err != nil {
		t.Fatal(err)
	}
	if want := fs.ModeDir | fs.ModeSticky | 0o777; q.Mode() != want {
		t.Errorf("queue mode = %v, want %v", q.Mode(), want)
	}
	if d.QueuePath() != filepath.Join(d.Path, QueueDir) {
		t.Errorf("QueuePath = %q", d.QueuePath())
	}

	// Create is idempotent and keeps what is there.
	if err := os.WriteFile(d.Join("keep"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(d.QueuePath(), 0o700); err != nil {
		t.Fatal(err)
	}
	d2, err := h.Create(testIdentity)
	if err != nil {
		t.Fatalf("second Create: %v", err)
	}
	if *d2 != *d {
		t.Errorf("second Create = %+v, want %+v", d2, d)
	}
	if _, err := os.Stat(d.Join("keep")); err != nil {
		t.Errorf("second Create lost a file: %v", err)
	}
	if q, _ := os.Lstat(d.QueuePath()); q.Mode() != fs.ModeDir|fs.ModeSticky|0o777 {
		t.Errorf("second Create left queue mode %v", q.Mode())
	}
}

func TestCreateOverFile(t *testing.T) {
	h := newHome(t)
	if err := os.MkdirAll(h.StateRoot(), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(h.StateRoot(), testIdentity), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Create(testIdentity); err == nil {
		t.Error("Create over a regular file succeeded")
	}
}

func TestOpen(t *testing.T) {
	h := newHome(t)
	_, err := h.Open(testIdentity)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Open of a missing identity = %v, want fs.ErrNotExist", err)
	}
	for _, want := range []string{testIdentity, "bottle ls"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}

	created, err := h.Create(testIdentity)
	if err != nil {
		t.Fatal(err)
	}
	d, err := h.Open(testIdentity)
	if err != nil {
		t.Fatalf("Open after Create: %v", err)
	}
	if *d != *created {
		t.Errorf("Open = %+v, want %+v", d, created)
	}

	// A file, or a link to a real directory, is not a state dir.
	const fileID, linkID = "file-aaaaa", "link-bbbbb"
	if err := os.WriteFile(filepath.Join(h.StateRoot(), fileID), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(created.Path, filepath.Join(h.StateRoot(), linkID)); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{fileID, linkID} {
		if _, err := h.Open(id); err == nil || errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Open(%s) = %v, want a not-a-directory error", id, err)
		}
	}
}

func TestIdentities(t *testing.T) {
	h := newHome(t)
	ids, invalid, err := h.Identities()
	if err != nil || ids != nil || invalid != nil {
		t.Fatalf("Identities with no state root = %v, %v, %v; want nothing", ids, invalid, err)
	}
	for _, id := range []string{"zeta-00000", "alpha-k3x9a", "mid-dle-zzzzz"} {
		if _, err := h.Create(id); err != nil {
			t.Fatal(err)
		}
	}
	root := h.StateRoot()
	for _, dir := range []string{"Bad_Name", "..hidden", "x--abcde"} {
		if err := os.Mkdir(filepath.Join(root, dir), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(root, "file-aaaaa"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(root, "alpha-k3x9a"), filepath.Join(root, "link-bbbbb")); err != nil {
		t.Fatal(err)
	}

	ids, invalid, err = h.Identities()
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"alpha-k3x9a", "mid-dle-zzzzz", "zeta-00000"}; !slices.Equal(ids, want) {
		t.Errorf("ids = %q, want %q", ids, want)
	}
	slices.Sort(invalid)
	if want := []string{"..hidden", "Bad_Name", "file-aaaaa", "link-bbbbb", "x--abcde"}; !slices.Equal(invalid, want) {
		t.Errorf("invalid = %q, want %q", invalid, want)
	}
}

func TestIdentitiesStateRootIsFile(t *testing.T) {
	h := newHome(t)
	if err := os.MkdirAll(h.Path, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(h.StateRoot(), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := h.Identities(); err == nil {
		t.Error("Identities with a file as state root succeeded")
	}
}
