package state

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// KeptAuditDir is where the audit logs of removed state dirs are kept,
// under BOTTLE_HOME: what a bottle asked for, was granted and was denied
// outlives its teardown.
const KeptAuditDir = "audit"

// KeptAudit is the path the audit log of identity is kept at once its
// state dir is gone.
func (h Home) KeptAudit(identity string) (string, error) {
	if err := ValidateIdentity(identity); err != nil {
		return "", err
	}
	return filepath.Join(h.Path, KeptAuditDir, identity+".jsonl"), nil
}

// AuditEvents appends events to the audit log in one write, so that a
// long report (an egress proxy's) costs one open, not one per line.
func (d *Dir) AuditEvents(events []AuditEvent) error {
	var buf bytes.Buffer
	for _, e := range events {
		line, err := json.Marshal(e)
		if err != nil {
			return fmt.Errorf("audit %s: %w", e.Event, err)
		}
		buf.Write(append(line, '\n'))
	}
	if buf.Len() == 0 {
		return nil
	}
	f, err := os.OpenFile(d.Join(AuditFile), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	_, werr := f.Write(buf.Bytes())
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return fmt.Errorf("audit: %w", werr)
	}
	return nil
}

// keepAudit moves the audit log out of the state dir, to
// BOTTLE_HOME/audit/<identity>.jsonl, appending to one kept before. Only a
// regular file is kept: the dir is bottle's own, but a link is never
// followed out of it.
func (d *Dir) keepAudit() error {
	src := d.Join(AuditFile)
	fi, err := os.Lstat(src)
	if errors.Is(err, fs.ErrNotExist) || (err == nil && !fi.Mode().IsRegular()) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("keep the audit log of %s: %w", d.Identity, err)
	}
	home := filepath.Dir(filepath.Dir(d.Path))
	dst, err := Home{Path: home}.KeptAudit(d.Identity)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return fmt.Errorf("keep the audit log of %s: %w", d.Identity, err)
	}
	if _, err := os.Lstat(dst); errors.Is(err, fs.ErrNotExist) {
		if err := os.Rename(src, dst); err != nil {
			return fmt.Errorf("keep the audit log of %s: %w", d.Identity, err)
		}
		return nil
	}
	if err := appendFile(dst, src); err != nil {
		return fmt.Errorf("keep the audit log of %s: %w", d.Identity, err)
	}
	return nil
}

func appendFile(dst, src string) error {
	in, err := os.OpenFile(src, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_APPEND|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}
