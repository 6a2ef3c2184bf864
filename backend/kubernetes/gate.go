package kubernetes

// The agent container runs gateSh as its first process, with the agent's
// argv as its arguments. It waits for Start or Run to write "attached" or
// "detached" into the FIFO go, runs the agent in the foreground (so that it
// keeps the container's stdin and terminal), passes the exit code to the
// status container through the FIFO status, and then stays alive, holding
// no stream open, so that files can still be copied out of the bottle. As
// PID 1 it ignores the SIGTERM and SIGINT that stop the agent.
//
// Only shell built-ins and mkfifo run after the agent ends, so that Halt's
// `kill -1` can never hit the gate's own helpers.
const gateSh = `g=/run/bottle-gate
mkfifo "$g/go" 2>/dev/null
mkfifo "$g/status" 2>/dev/null
read -r how < "$g/go" || exit 125
if [ "$how" = detached ]; then exec </dev/null; fi
"$@"
code=$?
echo "$code" > "$g/exit"
echo "$code" > "$g/status"
exec </dev/null >/dev/null 2>&1
while :; do read -r _ < "$g/go"; done`

// statusSh runs in the "bottle" container: it exits with the agent's exit
// code once the gate reports it, which puts that code in the Pod's status.
const statusSh = `g=/run/bottle-gate
mkfifo "$g/status" 2>/dev/null
read -r code < "$g/status" || exit 125
exit "$code"`

// releaseSh releases the gate ($1 is "attached" or "detached"). The gate
// makes its FIFO within milliseconds of starting; the loop covers a Start
// that comes first.
const releaseSh = `g=/run/bottle-gate
i=0
until [ -p "$g/go" ]; do
  i=$((i+1)); [ $i -gt 200 ] && { echo "the bottle's gate did not start" >&2; exit 125; }
  sleep 0.05 2>/dev/null || sleep 1
done
echo "$1" > "$g/go"`

// stopSh stops the agent: SIGTERM to every process but the gate (PID 1)
// and itself, then SIGKILL after $1 tenths of a second if the agent has not
// ended.
const stopSh = `g=/run/bottle-gate
[ -e "$g/exit" ] && exit 0
kill -TERM -1 2>/dev/null
i=0
while [ ! -e "$g/exit" ] && [ $i -lt "$1" ]; do i=$((i+1)); sleep 0.1 2>/dev/null || sleep 1; done
[ -e "$g/exit" ] || kill -KILL -1 2>/dev/null
true`

// execSh runs an Exec: $1 is the working directory (empty: the
// container's), the rest is KEY=VALUE... then the argv, for env.
const execSh = `if [ -n "$1" ]; then cd "$1" || exit 126; fi
shift
exec env "$@"`

// Trees move as tar streams over exec.
const (
	// copyInSh extracts at $1. With an owner $2 (UID:GID) it gives $1 and
	// the parents it had to create to that owner; without one, the folders
	// it had to create take the owner of their nearest existing ancestor
	// ($e), as the engine's own copy does. Nothing above $e changes.
	copyInSh = `d=$1 o=$2 e=$1
while [ ! -e "$e" ]; do e=$(dirname "$e"); done
mkdir -p "$d" && tar -xf - -C "$d" || exit $?
if [ -z "$o" ]; then
  [ "$e" != "$d" ] || exit 0
  o=$(stat -c %u:%g "$e") || exit $?
fi
chown "$o" "$d" || exit $?
[ "$e" != "$d" ] || exit 0
p=$(dirname "$d")
while [ "$p" != "$e" ] && [ "$p" != / ]; do chown "$o" "$p" || exit $?; p=$(dirname "$p"); done`
	// copyOutSh exits 44 for a missing directory, told apart from tar
	// failing; after the archive it waits for its stdin to end, which
	// CopyOut closes once it has read the whole archive.
	copyOutSh = `[ -d "$1" ] || { echo "no such directory: $1" >&2; exit 44; }; tar -C "$1" -cf - . || exit $?; cat >/dev/null`
)
