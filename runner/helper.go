package runner

import (
	"bytes"
	_ "embed"
	"fmt"
	"os"
	"path/filepath"

	"github.com/bottle-dev/bottle/runner/state"
)

// requestHelper is /run/bottle/bottle-request inside every bottle.
//
//go:embed bottle-request.sh
var requestHelper []byte

// In-bottle paths of the contract (DESIGN.md, "Inside a bottle").
const (
	GuestRunDir  = "/run/bottle"
	GuestQueue   = "/run/bottle/queue"
	GuestHelper  = "/run/bottle/bottle-request"
	helperFolder = "helper"
)

// helperDir makes sure $BOTTLE_HOME/helper holds the current bottle-request
// script and an empty queue/ folder (the mount point of the queue inside the
// read-only /run/bottle), and returns its path.
func helperDir(home state.Home) (string, error) {
	dir := filepath.Join(home.Path, helperFolder)
	if err := os.MkdirAll(filepath.Join(dir, "queue"), 0o755); err != nil {
		return "", fmt.Errorf("prepare %s: %w", dir, err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		return "", fmt.Errorf("prepare %s: %w", dir, err)
	}
	path := filepath.Join(dir, "bottle-request")
	if cur, err := os.ReadFile(path); err == nil && bytes.Equal(cur, requestHelper) {
		return dir, nil
	}
	if err := state.WriteFileAtomic(path, requestHelper, 0o755); err != nil {
		return "", err
	}
	return dir, nil
}
