#!/usr/bin/env bash
# tools.sh — install what a fresh machine lacks, for the targets that use it;
# quick (no network) when everything is present. `make tools` installs every
# group; `make dev` only what it runs; `make test` everything.
#
#   scripts/tools.sh [GROUP...]      (no GROUP: all of them)
#
#   aws      moto_server, aws (CLI v1): the local stack (make dev, make test)
#   lint     cfn-lint, with aws-sam-translator: the template tests (make test)
#   rie      aws-lambda-rie, go install into $(go env GOPATH)/bin (make test, bench)
#   clients  the test clients, each pinned, each in its own .tools/ directory
#            (make test): Codex CLI (.tools/codex), Claude Code
#            (.tools/claude-code), the Anthropic TS SDK (.tools/anthropic-sdk),
#            the OpenAI Node SDK (.tools/openai); npm
#   browser  chromium, Debian's package (apt-get), for the operator console's
#            headless browser test (make test)
#
# Python tools found on PATH are used as they are. Missing ones go into a
# virtual environment, .tools/py (git-ignored), never into the system's
# interpreter, which PEP 668 systems (Debian 12, Ubuntu 23.04 and later)
# refuse to change anyway; the Makefile and with-stack.sh put .tools/py/bin
# first on PATH.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

RIE_MODULE=github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie
RIE_VERSION=v0.0.0-20261030222936-bef5c4ba774d
CODEX_VERSION=0.169.0
CLAUDE_CODE_VERSION=2.1.328
ANTHROPIC_SDK_VERSION=1.14.0
# The newest OpenAI Node SDK that runs on Node 20 (7.x needs Node >= 22).
OPENAI_NODE_VERSION=6.49.0
VENV=.tools/py

log() { echo "tools: $*" >&2; }
die() {
	log "$*"
	exit 1
}

groups=("$@")
[[ ${#groups[@]} -gt 0 ]] || groups=(aws lint rie clients browser)
for g in "${groups[@]}"; do
	case $g in
	aws | lint | rie | clients | browser) ;;
	*) die "unknown group '$g' (want aws, lint, rie, clients or browser)" ;;
	esac
done
want() { [[ " ${groups[*]} " == *" $1 "* ]]; }

mkdir -p .tools
[[ -f .tools/.gitignore ]] || echo '*' >.tools/.gitignore
export PATH=$PWD/$VENV/bin:$PATH

# --- Python tools: check first, then a virtual environment under .tools/ ----
# A tool counts as present when it is on PATH and, for the two that python3
# itself must import, when python3 (the first on PATH, .tools/py's once it
# exists) can: with-stack.sh runs moto through scripts/moto-serial.py, and
# the template tests run aws-sam-translator, which cfn-lint brings.
declare -A pip_package=([moto_server]="moto[server]" [aws]=awscli [cfn-lint]=cfn-lint)
declare -A py_module=([moto_server]=moto.server [cfn-lint]=samtranslator)
present() {
	command -v "$1" >/dev/null 2>&1 || return 1
	[[ -z ${py_module[$1]:-} ]] || python3 -c "import ${py_module[$1]}" >/dev/null 2>&1
}
needed=()
want aws && needed+=(moto_server aws)
want lint && needed+=(cfn-lint)
missing=()
for tool in "${needed[@]}"; do
	present "$tool" || missing+=("$tool")
done
if [[ ${#missing[@]} -gt 0 ]]; then
	packages=()
	for tool in "${missing[@]}"; do packages+=("${pip_package[$tool]}"); done
	command -v python3 >/dev/null 2>&1 ||
		die "missing ${missing[*]}, and python3 is not installed to install them: install Python 3 (Debian/Ubuntu: sudo apt-get install python3 python3-venv)"
	if [[ ! -x $VENV/bin/pip ]]; then
		log "missing: ${missing[*]}; creating a virtual environment in $VENV"
		if ! python3 -m venv "$VENV" >&2; then
			rm -rf "$VENV"
			log "python3 cannot create a virtual environment: its venv module (with ensurepip) is not installed."
			log "Install it, then run make tools again:"
			log "    Debian/Ubuntu: sudo apt-get install python3-venv   (or python3.X-venv for your python3 -V)"
			log "    Fedora/RHEL:   sudo dnf install python3   (venv is included)"
			log "Or install the tools yourself so that they are on PATH, e.g. with pipx:"
			for p in "${packages[@]}"; do log "    pipx install '$p'"; done
			exit 1
		fi
	fi
	log "installing ${packages[*]} into $VENV"
	if ! "$VENV/bin/pip" install --disable-pip-version-check "${packages[@]}" >&2; then
		die "pip install into $VENV failed (is PyPI reachable?). Retry with: $VENV/bin/pip install ${packages[*]}"
	fi
	hash -r
	for tool in "${missing[@]}"; do
		present "$tool" || die "$tool is still missing after installing ${pip_package[$tool]} into $VENV"
	done
fi

# --- aws-lambda-rie ---------------------------------------------------------
if want rie; then
	gobin=$(go env GOBIN)
	[[ -n $gobin ]] || gobin=$(go env GOPATH)/bin
	if ! command -v aws-lambda-rie >/dev/null 2>&1 && [[ ! -x $gobin/aws-lambda-rie ]]; then
		log "installing aws-lambda-rie@$RIE_VERSION"
		go install "$RIE_MODULE@$RIE_VERSION"
	fi
fi

# --- test clients, npm, each pinned in .tools/<dir> -------------------------
# npm_pinned DIR PACKAGE VERSION installs PACKAGE@VERSION into .tools/DIR
# unless that exact version is there.
npm_pinned() {
	local dir=$1 pkg=$2 version=$3
	if grep -q "\"version\": *\"$version\"" ".tools/$dir/node_modules/$pkg/package.json" 2>/dev/null; then
		return
	fi
	command -v npm >/dev/null 2>&1 ||
		die "npm not found: make test runs $pkg@$version as a client; install Node.js 20 or later with npm"
	log "installing $pkg@$version into .tools/$dir"
	npm i --no-audit --no-fund --prefix ".tools/$dir" "$pkg@$version" >&2
}
if want clients; then
	npm_pinned codex @openai/codex "$CODEX_VERSION"
	npm_pinned claude-code @anthropic-ai/claude-code "$CLAUDE_CODE_VERSION"
	npm_pinned anthropic-sdk @anthropic-ai/sdk "$ANTHROPIC_SDK_VERSION"
	npm_pinned openai openai "$OPENAI_NODE_VERSION"
fi

# --- chromium: the console test's headless browser (Debian's package) ------
if want browser && ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1; then
	command -v apt-get >/dev/null 2>&1 ||
		die "chromium not found: make test drives it headless (the operator console test); install it with your package manager"
	sudo=()
	[[ $(id -u) == 0 ]] || sudo=(sudo)
	log "installing chromium (apt-get)"
	export DEBIAN_FRONTEND=noninteractive
	# The package lists of a fresh machine may be missing or stale: update once on failure.
	"${sudo[@]}" apt-get install -y -q chromium >&2 ||
		{ "${sudo[@]}" apt-get update -q >&2 && "${sudo[@]}" apt-get install -y -q chromium >&2; } ||
		die "apt-get install chromium failed; install it yourself (Debian/Ubuntu: sudo apt-get install chromium)"
fi
