// Package dashboard is the terminal UI of bottle dashboard: a table of
// bottles, a detail pane with the selected bottle's pending capability
// requests and the tails of its output and audit log, and keys that approve,
// deny, stop, resume and show full logs.
//
// The model is a bubbletea model whose Update and View are pure functions of
// its state and messages: every read and every action goes through the small
// Source interface, runs as a tea.Cmd and comes back as a message, so tests
// drive the model with a fake Source and never need a terminal. NewSource
// adapts a *runner.Runner, so approving here is the same code path as
// bottle approve.
//
// The package owns no state and prints nothing outside View. It may import
// runner and runner/state, never backend implementations or config: the
// command in cmd/bottle wires the real runner, the file watch on the state
// root and the terminal together.
package dashboard

// bubbletea must not query the terminal at start-up; see noquery.
import _ "github.com/bottle-dev/bottle/cmd/bottle/dashboard/internal/noquery"
