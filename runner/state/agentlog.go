package state

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sync"
	"syscall"
)

// MaxAgentLogSize caps agent.log: past it the log is rotated to agent.log.1
// (replacing the previous one), so what a watch-resumed agent prints takes
// at most twice this on the host however much it prints.
const MaxAgentLogSize = 16 << 20

// agentLogOld is where a rotated agent.log goes.
const agentLogOld = AgentLogFile + ".1"

// AgentLog is an append-only, size-capped writer of a state dir's agent.log.
type AgentLog struct {
	mu   sync.Mutex
	dir  *Dir
	max  int64
	f    *os.File
	size int64
}

// OpenAgentLog opens agent.log for appending, rotating it whenever a write
// would take it past max bytes (MaxAgentLogSize when max <= 0).
func (d *Dir) OpenAgentLog(max int64) (*AgentLog, error) {
	if max <= 0 {
		max = MaxAgentLogSize
	}
	l := &AgentLog{dir: d, max: max}
	if err := l.open(os.O_APPEND); err != nil {
		return nil, err
	}
	return l, nil
}

func (l *AgentLog) open(flag int) error {
	f, err := os.OpenFile(l.dir.Join(AgentLogFile), os.O_WRONLY|os.O_CREATE|syscall.O_NOFOLLOW|flag, 0o600)
	if err != nil {
		return fmt.Errorf("open the log of %s: %w", l.dir.Identity, err)
	}
	fi, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return fmt.Errorf("open the log of %s: %w", l.dir.Identity, err)
	}
	l.f, l.size = f, fi.Size()
	return nil
}

// Write appends p, rotating first when p would not fit. A single write
// larger than the cap keeps only its last max bytes. It always reports
// len(p): the agent's output must not fail because its log is capped.
func (l *AgentLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return 0, fs.ErrClosed
	}
	n := len(p)
	if int64(len(p)) > l.max {
		p = p[int64(len(p))-l.max:]
	}
	if l.size > 0 && l.size+int64(len(p)) > l.max {
		if err := l.rotate(); err != nil {
			return 0, err
		}
	}
	w, err := l.f.Write(p)
	l.size += int64(w)
	if err != nil {
		return 0, fmt.Errorf("write the log of %s: %w", l.dir.Identity, err)
	}
	return n, nil
}

func (l *AgentLog) rotate() error {
	cerr := l.f.Close()
	l.f = nil
	if err := os.Rename(l.dir.Join(AgentLogFile), l.dir.Join(agentLogOld)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return errors.Join(cerr, fmt.Errorf("rotate the log of %s: %w", l.dir.Identity, err))
	}
	return errors.Join(cerr, l.open(os.O_TRUNC))
}

// Close closes the log.
func (l *AgentLog) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}

// ReadAgentLog writes the kept log, the rotated part first, to w.
func (d *Dir) ReadAgentLog(w io.Writer) error {
	found := false
	for _, name := range []string{agentLogOld, AgentLogFile} {
		f, err := os.OpenFile(d.Join(name), os.O_RDONLY|syscall.O_NOFOLLOW, 0)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("read the log of %s: %w", d.Identity, err)
		}
		found = true
		_, err = io.Copy(w, f)
		_ = f.Close()
		if err != nil {
			return fmt.Errorf("read the log of %s: %w", d.Identity, err)
		}
	}
	if !found {
		return fmt.Errorf("%s kept no log: %w", d.Identity, fs.ErrNotExist)
	}
	return nil
}
