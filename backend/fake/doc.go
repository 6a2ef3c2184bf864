// Package fake is an in-memory backend.Backend for tests: the runner's unit
// tests and the CLI's scripts run against it instead of Docker or smolvm.
//
// It keeps instances with their lifecycle (created, running, exited), a
// file system per instance (files, directories and symlinks in memory, with
// modes, owners and mtimes; paths under a Spec mount reach the host
// directory), so that CopyIn and CopyOut round-trip real tar streams, and
// a log. An instance's main process is an Agent: a Go function set per
// image (SetAgent) or for all (SetDefaultAgent), or by default Shell, which
// runs Spec.Command with mvdan.cc/sh's interpreter: its file handlers
// (open, stat, readdir, access) reach the instance's file system, and a
// few busybox-like applets (cat, ls, mkdir, touch, rm, readlink, chmod,
// sleep, seq, stty, sh) stand for the image's tools, enough for the
// conformance suite, which the fake passes in full. Remove
// kills a running agent, and an attached Run then returns 137, as when an
// engine tears a container down.
//
// EnsureImage "pulls" unknown references as empty images, and builds
// Dockerfiles with the same builder semantics (FROM, RUN with the shell,
// COPY from the context with .dockerignore, ENV, WORKDIR, USER, LABEL),
// recording each build (Builds) with its Dockerfile content.
//
// Every call is recorded (Calls); FailOn injects a failure per operation and
// Hook runs a check at the start of one. It is safe for concurrent use.
//
// It imports backend and backend/buildctx (the build context and content
// hash the real backends share), never a real engine.
package fake
