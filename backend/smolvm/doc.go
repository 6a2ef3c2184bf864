// Package smolvm is the "smolmachines" backend: it runs each bottle as a
// smolvm microVM, driving the smolvm 1.9.x CLI (shared/reference/
// smolvm-cli.md) as a subprocess. It is the only package that runs the
// smolvm binary. It imports backend and the standard library only; in
// particular it must not import backend/docker: Docker builds and exports
// images through the injected ImageSource.
//
// One machine per identity, named backend.InstanceName(identity) and
// labelled dev.bottle.managed/identity/bottle/agent (plus dev.bottle.image
// and dev.bottle.tty, read back by Inspect and Run). The machine's own
// workload is an inert `sleep infinity`; Create boots it so that CopyIn
// works, and writes the agent's command into the guest as a launcher
// script. The agent runs through `machine exec`:
//
//   - Run (attached): exec -i -t, or -i (with an empty stdin when there is
//     none); output is teed to DataDir/<identity>/agent.log on the host;
//     the exit code is the agent's (checked against the exit file the
//     guest wrapper writes).
//   - Start (detached): exec -d; output goes to agent.log in the guest.
//   - Inspect reads the guest's exit file; Logs reads the host log when an
//     attached run wrote one, else the guest log (follow = poll).
//
// Anything whose output can be large (Run, Exec, CopyOut's tar, the guest
// log) goes through exec -i, the one mode without an output cap: buffered
// exec stops reading a stream at about 11 MiB (SIGPIPE) and fails over
// 20 MiB, and --stream ends the session after 11 MiB and never gives the
// guest's stdin EOF. smolvm's own failure lines (`Error: …`, and the
// lower-case `error: streaming output exceeded …`) are told apart from a
// guest's exit code (cliFailure). --cpus is one byte in smolvm, so more
// than 255 CPUs are refused (by the config at plan, and by Create).
//
// Guest-side files live on disk in /var/lib/bottle (or $HOME/.bottle),
// never only in /tmp or /run, which a machine stop empties. Only JSON
// output (ls/status --json) is parsed, never tables; errors map smolvm's
// "vm not found" to backend.ErrNotFound, "already exists" to
// backend.ErrConflict and KVM failures to ErrKVM.
//
// fakesmolvm (a subdirectory) is the CLI test double the tests run against.
package smolvm
