// Package backendtest is the conformance suite every backend.Backend passes:
// the fake, Docker on a real engine, and smolvm. Run drives one backend
// through the whole bottle lifecycle (images, create, copy in and out,
// attached and detached runs, exec, logs, stop, remove, list, not-found and
// conflict errors) with only the backend interface, so a behaviour the
// runner relies on is tested once and holds for every backend.
//
// It also holds GenerateTree, the file tree generator shared by the copy
// benchmarks.
//
// It imports backend and the standard library's testing; never a backend
// implementation.
package backendtest
