package smolvm

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/bottle-dev/bottle/backend"
)

// exitKilled is the exit code reported for an agent that was still running
// when its machine stopped (128+SIGKILL, as Docker reports it).
const exitKilled = 137

// Host-side files of one identity, under DataDir/<identity>/:
//
//	agent.log  what an attached run printed (stdout and stderr, teed)
//	exit       the agent's exit code, once known on the host
//
// A detached run's output stays in the guest (see agent.go); Logs reads
// agent.log when it exists and the guest's log otherwise.
const (
	hostLog  = "agent.log"
	hostExit = "exit"
)

// hostDir is DataDir/<identity> for the machine name id; the name was
// validated (checkID), so it cannot escape DataDir.
func (b *Backend) hostDir(id string) string {
	return filepath.Join(b.dataDir, strings.TrimPrefix(id, "bottle-"))
}

func (b *Backend) hostPath(id, file string) string { return filepath.Join(b.hostDir(id), file) }

// writeHostExit records code atomically (temp file + rename); it is a
// cache, so failing to write it only loses precision later.
func (b *Backend) writeHostExit(id string, code int) {
	dir := b.hostDir(id)
	if os.MkdirAll(dir, 0o700) != nil {
		return
	}
	f, err := os.CreateTemp(dir, ".exit-*")
	if err != nil {
		return
	}
	_, werr := f.WriteString(strconv.Itoa(code) + "\n")
	if cerr := f.Close(); werr != nil || cerr != nil {
		os.Remove(f.Name())
		return
	}
	if os.Rename(f.Name(), filepath.Join(dir, hostExit)) != nil {
		os.Remove(f.Name())
	}
}

// hostExitCode is the recorded exit code, or exitKilled when there is none.
func (b *Backend) hostExitCode(id string) int {
	code, ok := b.readHostExit(id)
	if !ok {
		return exitKilled
	}
	return code
}

func (b *Backend) readHostExit(id string) (int, bool) {
	data, err := os.ReadFile(b.hostPath(id, hostExit))
	if err != nil {
		return 0, false
	}
	code, err := strconv.Atoi(strings.TrimSpace(string(data)))
	return code, err == nil
}

// resetHost clears the previous run's host files before a new run.
func (b *Backend) resetHost(id string) error {
	for _, f := range []string{hostLog, hostExit} {
		if err := os.Remove(b.hostPath(id, f)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return nil
}

func (b *Backend) removeHostDir(id string) error {
	return os.RemoveAll(b.hostDir(id))
}

func isNotFound(err error) bool { return errors.Is(err, backend.ErrNotFound) }
