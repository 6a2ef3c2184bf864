package state

import "path/filepath"

// Names of the files that carry a copied workspace's work out.
const (
	// LaunchTreeFile records the tree a copy-mode bottle was launched with
	// (runner/changes.Manifest): what its changes are measured against.
	LaunchTreeFile = "launch-tree.json"
	// ExportFile records where the session's end put the workspace's
	// changes, so that they are exported once.
	ExportFile = "export.json"
	// InImageFile marks that the running instance's workspace came with
	// its image (the cwd cache): the engine's own diff then says what the
	// agent changed.
	InImageFile = "workspace-in-image"
)

// ResultsDir holds the patches session ends export: outside the state
// dirs, so that cleanup keeps them.
func (h Home) ResultsDir() string { return filepath.Join(h.Path, "results") }
