// Package changes brings a copied workspace's work out of a bottle: it
// records the tree a bottle was launched with (a Manifest), compares the
// workspace the agent left against it (Compare, reading a hostile tar
// stream), and writes the difference out as a unified diff, a git-apply-able
// patch, a folder, or a commit on a branch of the user's repository built
// with git plumbing in a temporary index.
//
// Everything read from a bottle is hostile: names are validated, sizes
// capped, only regular files, directories and symbolic links are taken, and
// nothing is ever written under a name the bottle chose (kept contents go to
// numbered files of a Store). It imports neither config nor backend: runner
// wires it to both.
package changes
