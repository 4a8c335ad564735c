#!/usr/bin/env bash
# with-stack.sh CMD [ARGS...] — run CMD against a throwaway local AWS stack.
#
# Starts moto_server on a free loopback port, points the AWS SDKs at it
# (AWS_ENDPOINT_URL, AWS_REGION, dummy credentials), runs
# localstack/init/ready.d/*.sh against it (the same scripts LocalStack runs),
# runs CMD, and stops moto when CMD ends or when this script, its parent
# (make) or its grandparent is killed. `make test`, `make dev` and `make bench`
# all go through here, so tests, the local server and benchmarks share one
# recipe. Exit status is CMD's.
#
# Environment set for CMD:
#   AWS_ENDPOINT_URL, CODEXGATE_MOTO_URL   http://127.0.0.1:PORT
#   AWS_REGION, AWS_DEFAULT_REGION         us-east-1 (unless already set)
#   AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY  test
#   CODEXGATE_TABLE                        codexgate (unless already set)
#
# When CODEXGATE_MOTO_URL is already set and answers (a nested call), CMD runs
# against that stack instead of a new one.
set -euo pipefail

if [[ $# -eq 0 ]]; then
	echo "usage: $0 CMD [ARGS...]" >&2
	exit 2
fi

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# make tools puts missing Python tools (moto) in a virtual environment here.
[[ -d $root/.tools/py/bin ]] && export PATH=$root/.tools/py/bin:$PATH

log() { echo "with-stack: $*" >&2; }

answers() { curl -sf -o /dev/null --max-time 1 "$1/moto-api/"; }

if [[ -n "${CODEXGATE_MOTO_URL:-}" ]] && answers "$CODEXGATE_MOTO_URL"; then
	exec "$@"
fi

if ! command -v moto_server >/dev/null 2>&1; then
	log "moto_server not found. Run 'make tools' (it installs moto into .tools/py),"
	log "or install moto[server] so that moto_server is on PATH, then try again."
	exit 127
fi

export AWS_REGION=${AWS_REGION:-us-east-1}
export AWS_DEFAULT_REGION=${AWS_DEFAULT_REGION:-$AWS_REGION}
export AWS_ACCESS_KEY_ID=test
export AWS_SECRET_ACCESS_KEY=test
unset AWS_SESSION_TOKEN AWS_PROFILE
export CODEXGATE_TABLE=${CODEXGATE_TABLE:-codexgate}

moto_pid=""
cmd_pid=""
watch_pid=""
state=$(mktemp -d "${TMPDIR:-/tmp}/codexgate-stack.XXXXXX")
moto_log=$state/moto.log

# proc_field PID N prints field N (3 = state, 4 = ppid) of /proc/PID/stat.
proc_field() {
	local n=$2 stat
	{ stat=$(<"/proc/$1/stat"); } 2>/dev/null || return 1
	stat=${stat##*) }
	# shellcheck disable=SC2086
	set -- _ _ $stat
	echo "${!n}"
}

# stop_group PID: TERM the process group led by PID (a child of this shell),
# KILL it after ~5 s. The leader is reaped here: a zombie leader would keep
# the group "alive" for kill -0.
stop_group() {
	local pid=$1 i
	kill -TERM -- "-$pid" 2>/dev/null || return 0
	for ((i = 0; i < 50; i++)); do
		if [[ $(proc_field "$pid" 3 2>/dev/null) == Z ]]; then
			wait "$pid" 2>/dev/null || true
		fi
		kill -0 -- "-$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	kill -KILL -- "-$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

cleanup() {
	local rc=$?
	set +e # clean-up must run to the end
	trap - EXIT INT TERM HUP
	[[ -n $watch_pid ]] && kill "$watch_pid" 2>/dev/null
	[[ -n $cmd_pid ]] && stop_group "$cmd_pid"
	[[ -n $moto_pid ]] && stop_group "$moto_pid"
	if [[ $rc -ne 0 && -s $moto_log && -n ${CODEXGATE_STACK_VERBOSE:-} ]]; then
		log "moto log:"
		tail -n 50 "$moto_log" >&2
	fi
	rm -rf "$state"
	exit "$rc"
}

# on_signal SIG: forward SIG to CMD's process group, then clean up and exit
# with the conventional 128+n status.
on_signal() {
	local sig=$1 code=$2
	[[ -n $cmd_pid ]] && kill "-$sig" -- "-$cmd_pid" 2>/dev/null
	exit "$code"
}
trap cleanup EXIT
trap 'on_signal INT 130' INT
trap 'on_signal TERM 143' TERM
trap 'on_signal HUP 129' HUP

# moto must serve one request at a time: its conditional writes are not
# atomic across threads (see scripts/moto-serial.py).
moto_cmd=(moto_server)
if python3 -c 'import moto.server' 2>/dev/null; then
	moto_cmd=(python3 "$root/scripts/moto-serial.py")
else
	log "warning: cannot import moto from python3; running threaded moto_server (lease tests may see false overlaps)"
fi

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Start moto in its own session (so one signal reaches the pyenv shim and the
# python process alike) with a parent-death signal (so it goes away even when
# this script is SIGKILLed). The free port can be taken between probe and
# bind; try a few.
for attempt in 1 2 3; do
	port=$(free_port)
	url="http://127.0.0.1:$port"
	setsid setpriv --pdeathsig TERM "${moto_cmd[@]}" -H 127.0.0.1 -p "$port" >"$moto_log" 2>&1 &
	moto_pid=$!
	for ((i = 0; i < 150; i++)); do # ~15 s
		answers "$url" && break 2
		kill -0 "$moto_pid" 2>/dev/null || break
		sleep 0.1
	done
	stop_group "$moto_pid"
	moto_pid=""
	log "moto_server did not come up on port $port (attempt $attempt)"
	tail -n 20 "$moto_log" >&2 || true
done
if [[ -z $moto_pid ]]; then
	log "giving up: moto_server would not start"
	exit 1
fi

export AWS_ENDPOINT_URL=$url
export CODEXGATE_MOTO_URL=$url
log "moto on $url (table $CODEXGATE_TABLE)"

# make forwards SIGTERM to its children but only waits on SIGINT, and a
# SIGKILLed parent forwards nothing: watch the parent and grandparent and stop
# the stack when either is gone (or a zombie, or we were reparented). If this
# script itself is SIGKILLed, the watcher stops the current child's process
# group (its pid is in $state/child); moto has its parent-death signal.
ancestors=()
p=$PPID
for _ in 1 2; do
	[[ $p -gt 1 ]] || break
	ancestors+=("$p")
	p=$(proc_field "$p" 4 || echo 0)
done
self=$$
parent=$PPID
(
	set +e
	trap - EXIT INT TERM HUP
	alive() { local s; s=$(proc_field "$1" 3) && [[ $s != Z ]]; }
	while sleep 1; do
		if ! alive "$self"; then
			child=$(cat "$state/child" 2>/dev/null)
			[[ -n $child ]] && kill -TERM -- "-$child" 2>/dev/null
			kill -TERM -- "-$moto_pid" 2>/dev/null
			rm -rf "$state"
			exit 0
		fi
		gone=""
		[[ $(proc_field "$self" 4) == "$parent" ]] || gone=1
		for a in "${ancestors[@]}"; do
			alive "$a" || gone=1
		done
		if [[ -n $gone ]]; then
			kill -TERM "$self" 2>/dev/null
			exit 0
		fi
	done
) </dev/null >/dev/null 2>&1 &
watch_pid=$!

# run_child CMD...: run CMD in its own process group (so a signal reaches it
# and everything it started, e.g. go test and its test binaries, and nothing
# else) while this shell stays free to handle signals; return its status.
run_child() {
	# env resets SIGINT/SIGQUIT, which bash ignores in background children;
	# the parent-death signal covers a SIGKILLed script.
	setsid setpriv --pdeathsig TERM env --default-signal=INT,QUIT "$@" <&0 &
	cmd_pid=$!
	echo "$cmd_pid" >"$state/child"
	local rc=0
	wait "$cmd_pid" || rc=$?
	# Whatever it left running (a linker of a killed go test, say) goes too.
	kill -TERM -- "-$cmd_pid" 2>/dev/null || true
	cmd_pid=""
	: >"$state/child"
	return "$rc"
}

shopt -s nullglob
for init in "$root"/localstack/init/ready.d/*.sh; do
	run_child bash "$init"
done

rc=0
run_child "$@" || rc=$?
exit "$rc"
