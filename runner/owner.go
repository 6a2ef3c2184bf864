package runner

import (
	"archive/tar"
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/bottle-dev/bottle/backend"
)

// owner is the numeric uid:gid files copied into a bottle get, and the
// folders made for them, so that an agent running as a non-root user can
// write its workspace and transcript, at the top too.
type owner = backend.Owner

// resolveOwner turns the agent's user ("1000", "1000:1000", "agent",
// "agent:staff") into numbers. Names are looked up in the instance's own
// /etc/passwd and /etc/group, as the engine would. An empty user means the
// files keep root ownership (nil).
func resolveOwner(ctx context.Context, be backend.Backend, instance, user string) (*owner, error) {
	if user == "" {
		return nil, nil
	}
	name, group, _ := strings.Cut(user, ":")
	uid, uerr := strconv.Atoi(name)
	gid, gerr := strconv.Atoi(group)
	if uerr == nil && (group == "" || gerr == nil) {
		if group == "" {
			gid = uid
		}
		return &owner{UID: uid, GID: gid}, nil
	}
	files, err := etcFiles(ctx, be, instance)
	if err != nil {
		return nil, fmt.Errorf("look up user %q: %w", user, err)
	}
	o := &owner{UID: uid, GID: gid}
	if uerr != nil {
		fields, ok := lookup(files["passwd"], name)
		if !ok || len(fields) < 4 {
			return nil, fmt.Errorf("user %q is not in the image's /etc/passwd; use a numeric uid:gid or create the user in the Dockerfile", name)
		}
		if o.UID, err = strconv.Atoi(fields[2]); err != nil {
			return nil, fmt.Errorf("user %q: bad uid in /etc/passwd", name)
		}
		if group == "" {
			if o.GID, err = strconv.Atoi(fields[3]); err != nil {
				return nil, fmt.Errorf("user %q: bad gid in /etc/passwd", name)
			}
		}
	}
	if group != "" && gerr != nil {
		fields, ok := lookup(files["group"], group)
		if !ok || len(fields) < 3 {
			return nil, fmt.Errorf("group %q is not in the image's /etc/group", group)
		}
		if o.GID, err = strconv.Atoi(fields[2]); err != nil {
			return nil, fmt.Errorf("group %q: bad gid in /etc/group", group)
		}
	}
	return o, nil
}

// etcFiles reads passwd and group out of the instance's /etc (bounded).
func etcFiles(ctx context.Context, be backend.Backend, instance string) (map[string]string, error) {
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(be.CopyOut(ctx, instance, "/etc", pw)) }()
	defer pr.Close()
	out := map[string]string{}
	tr := tar.NewReader(pr)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		name := strings.TrimPrefix(h.Name, "./")
		if (name == "passwd" || name == "group") && h.Typeflag == tar.TypeReg {
			data, err := io.ReadAll(io.LimitReader(tr, 1<<20))
			if err != nil {
				return out, err
			}
			out[name] = string(data)
		}
	}
}

// lookup finds the colon-separated line whose first field is name.
func lookup(file, name string) ([]string, bool) {
	sc := bufio.NewScanner(strings.NewReader(file))
	for sc.Scan() {
		fields := strings.Split(sc.Text(), ":")
		if len(fields) > 0 && fields[0] == name {
			return fields, true
		}
	}
	return nil, false
}

// chown rewrites the owner of every entry of a tar stream.
func chown(r io.Reader, w io.Writer, o *owner) error {
	tr := tar.NewReader(r)
	tw := tar.NewWriter(w)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return tw.Close()
		}
		if err != nil {
			return err
		}
		h.Uid, h.Gid, h.Uname, h.Gname = o.UID, o.GID, "", ""
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if _, err := io.Copy(tw, tr); err != nil {
			return err
		}
	}
}
