#!/usr/bin/env bash
# dev.sh — `make dev`: codexgate running locally, end to end, on the local stack.
#
#   1. runs inside scripts/with-stack.sh (moto; re-execs itself through it when
#      started on its own), and creates the table (localstack/init/ready.d);
#   2. builds codexgate (and the simulator) once into build/;
#   3. REAL mode, when ~/.codex/auth.json (or $CODEX_HOME/auth.json) exists: imports it as account
#      "${CODEXGATE_DEV_ACCOUNT:-me}" and talks to the real OpenAI endpoints; on exit it
#      exports the account back to that file (`codexgate export`), since the local
#      stack forgets the login it may have rotated;
#      DEMO mode otherwise (or with CODEXGATE_DEV_DEMO=1): starts the OpenAI
#      simulator (cmd/openaisim) with two accounts (quota partly used, set
#      through its control API) and points codexgate at it;
#   4. creates a client API key and an admin key, runs `codexgate serve` on
#      ${CODEXGATE_DEV_ADDR:-127.0.0.1:8080} (it polls quota at start and every
#      15 min), and prints the Codex CLI config, the Claude Code setup (three
#      lines), the OpenAI SDK settings, a curl line that work, and the operator
#      console's URL with the admin key in its fragment (#key=…, never sent);
#   5. on Ctrl-C (SIGINT/SIGTERM/SIGHUP) stops the server and the simulator
#      and waits for them; with-stack.sh then stops moto. Nothing is left.
#
# Environment: CODEXGATE_DEV_ADDR, CODEXGATE_DEV_ACCOUNT, CODEXGATE_DEV_DEMO,
# CODEXGATE_DEV_MODEL (model in the printed examples), CODEXGATE_DEV_BUILD_DIR
# (default build/), plus every CODEXGATE_* setting codexgate reads.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

if [[ -z ${AWS_ENDPOINT_URL:-} ]]; then
	# Never run against real AWS by accident: bring up the local stack first.
	exec bash "$root/scripts/with-stack.sh" bash "$root/scripts/dev.sh" "$@"
fi

addr=${CODEXGATE_DEV_ADDR:-127.0.0.1:8080}
account=${CODEXGATE_DEV_ACCOUNT:-me}
model=${CODEXGATE_DEV_MODEL:-gpt-5.1-codex}
bin=${CODEXGATE_DEV_BUILD_DIR:-$root/build}
auth_json=${CODEX_HOME:-${HOME:-}/.codex}/auth.json

say() { echo "dev: $*" >&2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/codexgate-dev.XXXXXX")
sim_pid=""
serve_pid=""

# stop PID NAME: SIGTERM, wait up to ~10 s, then SIGKILL.
stop() {
	local pid=$1 name=$2 i
	[[ -n $pid ]] || return 0
	kill -TERM "$pid" 2>/dev/null || return 0
	for ((i = 0; i < 100; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		say "$name did not stop; killing it"
		kill -KILL "$pid" 2>/dev/null || true
	fi
	wait "$pid" 2>/dev/null || true
}

cleanup() {
	local rc=$?
	trap - EXIT INT TERM HUP
	stop "$serve_pid" "codexgate serve"
	if [[ ${mode:-} == REAL ]]; then
		# The local stack forgets everything when it stops: a login codexgate
		# rotated lives only there, and the file's refresh token is spent.
		"$cg" export --account "$account" --auth-file "$auth_json" >&2 ||
			say "WARNING: could not write account '$account' back to $auth_json; Codex CLI may ask you to log in again"
	fi
	stop "$sim_pid" "openaisim"
	rm -rf "$work"
	exit "$rc"
}
trap cleanup EXIT
trap 'say "stopping"; exit 0' INT TERM HUP

# 1. Resources (idempotent; with-stack.sh ran them for the default table).
for init in "$root"/localstack/init/ready.d/*.sh; do
	bash "$init" >/dev/null
done

# 2. Build once.
mkdir -p "$bin"
[[ -f $root/build/.gitignore ]] || { mkdir -p "$root/build" && echo '*' >"$root/build/.gitignore"; }
say "building $bin/codexgate"
go build -o "$bin/codexgate" ./cmd/codexgate
cg="$bin/codexgate"

# wait_file FILE PID NAME: wait until FILE is non-empty while PID lives.
wait_file() {
	local file=$1 pid=$2 name=$3 i
	for ((i = 0; i < 300; i++)); do # ~30 s
		[[ -s $file ]] && return 0
		kill -0 "$pid" 2>/dev/null || { say "$name exited before it was ready"; return 1; }
		sleep 0.1
	done
	say "$name not ready after 30 s"
	return 1
}

# 3. Accounts: the user's real one, or a labelled demo.
if [[ -z ${CODEXGATE_DEV_DEMO:-} && -f $auth_json ]]; then
	mode=REAL
	say "importing $auth_json as account '$account' (real OpenAI endpoints)"
	"$cg" import --account "$account" --auth-file "$auth_json"
else
	mode=DEMO
	say "no $auth_json: DEMO mode with the OpenAI simulator (canned answers, no real account)"
	go build -o "$bin/openaisim" ./cmd/openaisim
	"$bin/openaisim" --addr 127.0.0.1:0 --accounts 2 --auth-dir "$work/auth" \
		--ready-file "$work/sim.url" >"$work/sim.log" 2>&1 &
	sim_pid=$!
	wait_file "$work/sim.url" "$sim_pid" openaisim || { cat "$work/sim.log" >&2; exit 1; }
	sim=$(<"$work/sim.url")
	export CODEXGATE_UPSTREAM_URL=$sim/backend-api/codex
	export CODEXGATE_TOKEN_URL=$sim/oauth/token
	export CODEXGATE_USAGE_URL=$sim/backend-api/wham/usage
	export CODEXGATE_AUTHORIZE_URL=$sim/oauth/authorize
	# Demo quota, partly used, so that `codexgate accounts` and the console
	# show something: 5-hour and weekly used % per account.
	demo_5h=(0 35 80) demo_week=(0 62 45)
	for i in 1 2; do
		"$cg" import --account "demo$i" --auth-file "$work/auth/account$i.auth.json"
		id=$(sed -n 's/.*"account_id": *"\([^"]*\)".*/\1/p' "$work/auth/account$i.auth.json")
		curl -fsS -X POST "$sim/_sim/usage?account=$id&primary=${demo_5h[i]}&secondary=${demo_week[i]}" >/dev/null ||
			say "could not set demo$i's demo quota"
	done
fi

# 4. A key, the server, and how to use them.
stamp="$(date +%Y%m%d-%H%M%S)-$$"
key=$("$cg" keys create --name "dev-$stamp")
# The local stack forgets its keys when it stops: a new admin key each run.
admin_key=$("$cg" keys create --name "console-$stamp" --admin)
"$cg" serve --addr "$addr" >"$work/serve.out" &
serve_pid=$!
wait_file "$work/serve.out" "$serve_pid" "codexgate serve" || exit 1
base=$(sed -n 's/^codexgate serving on \(http:[^ ]*\) .*/\1/p' "$work/serve.out")

"$cg" accounts >&2 || true
cat <<MSG

==============================================================================
 codexgate is serving on $base  —  $mode mode
MSG
if [[ $mode == DEMO ]]; then
	cat <<MSG
 DEMO: accounts demo1/demo2 are simulated by openaisim at $sim;
 every answer is the simulator's canned text. Run \`codex login\` (so that
 ~/.codex/auth.json exists) and restart \`make dev\` to use your real account.
MSG
else
	cat <<MSG
 REAL: account '$account' is your ~/.codex/auth.json, against chatgpt.com.
 Requests use your ChatGPT plan's Codex quota. codexgate may rotate the
 login's refresh token: on Ctrl-C it writes the login back to that file
 (the old one kept as auth.json.bak), so Codex CLI keeps working. While this
 runs, don't use Codex CLI with its own login: two refreshers of one login
 spend its refresh token twice, and OpenAI then revokes it.
MSG
fi
cat <<MSG
==============================================================================

Try it (streams Server-Sent Events):

curl -sN $base/responses -H 'Authorization: Bearer $key' -H 'Content-Type: application/json' -d '{"model":"$model","instructions":"You are a helpful assistant.","input":"Say hi","stream":true,"store":false}'

Codex CLI: add to ~/.codex/config.toml (or a config.toml in a CODEX_HOME of its own):

model_provider = "codexgate"
[model_providers.codexgate]
name = "codexgate"
base_url = "$base"
env_key = "CODEXGATE_API_KEY"
wire_api = "responses"

then: export CODEXGATE_API_KEY=$key && codex exec --skip-git-repo-check "say hi"

Claude Code (Anthropic Messages API on the same accounts; models map by family, see README):

export ANTHROPIC_BASE_URL=${base%/v1} ANTHROPIC_AUTH_TOKEN=$key
export DISABLE_TELEMETRY=1 CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1
claude -p "say hi"

OpenAI SDKs and Chat Completions tools (POST /v1/chat/completions, GET /v1/models):

export OPENAI_BASE_URL=$base OPENAI_API_KEY=$key

Operator console (accounts, quota windows, usage per key; refreshes every 30 s). Open:

${base%/v1}/status#key=$admin_key

Press Ctrl-C to stop (server, simulator and local AWS stack).
MSG

# 5. Serve until a signal (the trap above) or until the server dies.
set +e
wait "$serve_pid"
rc=$?
set -e
serve_pid=""
say "codexgate serve exited with status $rc"
exit "$rc"
