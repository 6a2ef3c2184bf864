// Command fakesmolvm is a test double of the smolvm 1.9.x CLI, written from
// section 11 of shared/reference/smolvm-cli.md. Tests build it, name it
// "smolvm" and put it first on PATH (or in BOTTLE_SMOLVM).
//
// It keeps the command surface (machine create/start/stop/exec/cp/ls/list/
// status/delete/rm/run/data-dir, the vm alias, --version), the state machine
// created → running → stopped, the stdout/stderr lines and exit codes, and
// the JSON of ls/status. State is one JSON file under $SMOLVM_DATA_DIR
// (default $HOME), guarded by an flock so parallel invocations are safe.
//
// A machine's VM is a Docker container of the handed-over image (docker
// load at create, so no registry is needed), labelled
// dev.bottle.fakesmolvm.root=<data dir> so tests can remove leftovers. The
// container keeps tmpfs /tmp and /run (emptied by a stop), a disk-backed
// /workspace volume that hides the image's own, the create-time env,
// workdir and -v mounts, and no network unless --net. exec runs the argv
// for real through `docker exec`, as the image's USER.
//
// exec keeps the real CLI's limits (reference §3.4): buffered mode keeps at
// most 11 MiB of each stream and kills the command with SIGPIPE past that
// (exit 141), and fails with `Error: … output too large` over 20 MiB in
// all; --stream ends the session after 11 MiB over both streams with
// `error: streaming output exceeded … cap` and exit 1, and gives the
// command a stdin that never reaches EOF; -i and -t have no cap.
//
// --allow-cidr and --allow-host are checked as smolvm checks them (an
// invalid CIDR is a usage error; a host is resolved at create, from the
// hosts-format file FAKESMOLVM_HOSTS when set, never "host:port") and
// recorded in the state file as allowed_cidrs and dns_filter_hosts, where
// tests read a machine's allowlist. The fake does not enforce an
// allowlist: such a machine's container has no network at all.
//
// FAKESMOLVM_KVM=missing (or denied) makes every boot fail the way smolvm
// does on a host without usable /dev/kvm; FAKESMOLVM_BARE_IMAGE is the
// Docker image of a machine created without --image (default busybox:latest);
// FAKESMOLVM_MIB_BYTES shrinks the MiB of the exec caps for tests.
//
// Known differences from the real CLI: -t allocates a terminal only when
// the fake's own stdin is one; every exec's processes carry
// FAKESMOLVM_EXEC=<tag> in their environment, by which a timeout or a cap
// kills them; a command killed at a cap is killed at once rather than at
// its next write; `machine run` has no output caps; Smolfiles, --from,
// remote mounts and rootfs directories are refused; published ports are
// recorded but not forwarded.
//
// It imports only the standard library and must not import bottle packages:
// it stands for a program bottle does not control.
package main
