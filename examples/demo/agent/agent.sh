#!/bin/sh
# A fake coding agent for the bottle quick start (POSIX sh, busybox, offline).
# It says what it does, keeps a transcript in $DEMO_TRANSCRIPT, shows that
# transcript when it is resumed, and asks for a tool it lacks (newtool)
# through the capability-request helper when DEMO_REQUEST is set.
set -eu

task=${1:-"nothing in particular"}
transcript=${DEMO_TRANSCRIPT:-/home/agent/.demo}
session=${BOTTLE_SESSION_ID:-no-session}
identity=${DEMO_IDENTITY:-${BOTTLE_IDENTITY:-unknown}}
log="$transcript/session-$session.log"
helper=/run/bottle/bottle-request

# say prints a line and appends it to the transcript.
say() {
	echo "demo-agent: $*"
	mkdir -p "$transcript"
	echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) $*" >>"$log"
}

if [ "${BOTTLE_RESUMED:-}" = 1 ]; then
	echo "demo-agent: resumed session $session; the transcript so far:"
	if [ -f "$log" ]; then
		sed 's/^/  | /' "$log"
	else
		echo "  | (nothing at $log)"
	fi
	say "resumed as $identity"
else
	say "started session $session as $identity"
fi
say "task: $task"
say "working in $(pwd), which holds: $(ls | tr '\n' ' ')"
if [ -f README.txt ]; then
	say "README.txt begins: $(head -n 1 README.txt)"
fi

if command -v newtool >/dev/null 2>&1; then
	say "newtool is installed; running it"
	say "newtool says: $(newtool)"
elif [ -n "${DEMO_REQUEST:-}" ]; then
	if [ ! -x "$helper" ]; then
		echo "demo-agent: cannot ask for newtool: $helper is missing (is this running inside a bottle?)" >&2
		exit 1
	fi
	say "newtool is missing; asking for it (on approval this bottle is rebuilt and resumed)"
	if "$helper" --reason "need newtool" \
		--run "printf '#!/bin/sh\necho newtool works\n' > /usr/local/bin/newtool && chmod +x /usr/local/bin/newtool" \
		--wait; then
		say "the request was answered"
	else
		say "the request was not approved; carrying on without newtool"
	fi
else
	say "newtool is missing and DEMO_REQUEST is not set, so not asking for it"
fi
if [ -n "${DEMO_NOTES:-}" ]; then
	# A change to the copied workspace: bottle exports it when the session
	# ends (a branch bottle/<identity> in a git work tree, else a patch).
	{
		echo "Notes by the demo agent ($identity) on: $task"
		[ -f README.txt ] && echo "README.txt begins: $(head -n 1 README.txt)"
	} >NOTES.txt
	say "wrote NOTES.txt"
fi
say "done"
exit 0
