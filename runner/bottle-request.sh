#!/bin/sh
# bottle-request: ask the operator for a capability from inside a bottle.
#
#   bottle-request --reason TEXT --run "SHELL COMMAND" [--run ...] [--line "ENV K=V"] [--wait]
#   bottle-request --reason TEXT --egress HOST[:PORT] [--egress ...] [--wait]
#
# --egress asks for more hosts behind an egress policy: an approval lets
# the running bottle reach them at once (no rebuild).
# Writes one request into $BOTTLE_QUEUE (default /run/bottle/queue) under a
# temporary name and renames it into place, then prints the request id.
# With --wait it blocks until the host answers and exits 0 when approved,
# 1 when denied or rejected. POSIX sh; works on busybox.
set -eu

queue=${BOTTLE_QUEUE:-/run/bottle/queue}
reason=""
lines=""
hosts=""
wait=0

usage() {
	echo "usage: bottle-request --reason TEXT --run 'SHELL COMMAND' [--run ...] [--line 'ENV K=V'] [--wait]" >&2
	echo "       bottle-request --reason TEXT --egress HOST[:PORT] [--egress ...] [--wait]" >&2
	exit 2
}

# esc makes one JSON string body: control characters become spaces,
# backslashes and quotes are escaped.
esc() {
	printf '%s' "$1" | tr '\000-\037' ' ' | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g'
}

add_line() {
	if [ -n "$lines" ]; then lines="$lines, "; fi
	lines="$lines\"$(esc "$1")\""
}

while [ $# -gt 0 ]; do
	case "$1" in
	--reason) [ $# -ge 2 ] || usage; reason=$2; shift 2 ;;
	--run) [ $# -ge 2 ] || usage; add_line "RUN $2"; shift 2 ;;
	--line) [ $# -ge 2 ] || usage; add_line "$2"; shift 2 ;;
	--egress)
		[ $# -ge 2 ] || usage
		if [ -n "$hosts" ]; then hosts="$hosts, "; fi
		hosts="$hosts\"$(esc "$2")\""
		shift 2 ;;
	--wait) wait=1; shift ;;
	-h|--help) usage ;;
	*) echo "bottle-request: unknown argument: $1" >&2; usage ;;
	esac
done
[ -n "$reason" ] || { echo "bottle-request: --reason is required" >&2; usage; }
if [ -n "$hosts" ] && [ -n "$lines" ]; then
	echo "bottle-request: --egress and --run/--line are separate requests: file them one at a time" >&2; usage
fi
[ -n "$lines" ] || [ -n "$hosts" ] || { echo "bottle-request: give at least one --run, --line or --egress" >&2; usage; }
[ -d "$queue" ] || { echo "bottle-request: no queue at $queue (is this a bottle?)" >&2; exit 2; }

rnd=$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')
id="req-$(date -u +%Y%m%d%H%M%S)-$rnd"
now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
tmp="$queue/.tmp-$id"
if [ -n "$hosts" ]; then
	printf '{"id": "%s", "kind": "egress", "reason": "%s", "egress": [%s], "created_at": "%s"}\n' \
		"$id" "$(esc "$reason")" "$hosts" "$now" >"$tmp"
else
	printf '{"id": "%s", "kind": "capability", "reason": "%s", "dockerfile": [%s], "created_at": "%s"}\n' \
		"$id" "$(esc "$reason")" "$lines" "$now" >"$tmp"
fi
mv "$tmp" "$queue/$id.json"
echo "$id"

[ "$wait" = 1 ] || exit 0
answer="$queue/$id.answer.json"
echo "bottle-request: waiting for the operator (bottle approve/deny $BOTTLE_IDENTITY $id)" >&2
while [ ! -f "$answer" ]; do sleep 1; done
status=$(sed -n 's/.*"status": *"\([a-z]*\)".*/\1/p' "$answer")
why=$(sed -n 's/.*"reason": *"\([^"]*\)".*/\1/p' "$answer")
echo "bottle-request: $status${why:+: $why}" >&2
[ "$status" = approved ]
