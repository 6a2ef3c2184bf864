// Package state owns bottle's on-disk state: the $BOTTLE_HOME/state/<identity>/
// directories described in DESIGN.md, their metadata, markers, audit log,
// capability queue and snapshots, and the per-identity owner lock.
//
// Everything an agent can write (the queue, snapshots taken out of a bottle)
// is hostile input: it is read through an os.Root, with size limits, and
// symlinks are never followed. Every write is atomic (temp file, fsync,
// rename, fsync of the directory).
//
// This package imports neither HCL nor any backend.
package state
