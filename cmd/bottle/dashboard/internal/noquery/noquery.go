// Package noquery stops bubbletea from querying the terminal when bottle
// starts. bubbletea's init asks lipgloss whether the background is dark,
// which writes OSC 11 and DSR queries to any terminal on stdout, so every
// bottle command (even bottle version) would print escape sequences and
// leave the answers in the user's input. Setting the default renderer's
// background explicitly makes that call a no-op.
//
// This package must initialise before bubbletea: Go initialises packages in
// import-path order once their imports are ready, and
// github.com/bottle-dev/... sorts before github.com/charmbracelet/bubbletea.
// The dashboard uses a renderer of its own, which detects the real
// background when it draws.
package noquery

import "github.com/charmbracelet/lipgloss"

func init() {
	lipgloss.SetHasDarkBackground(true)
}
