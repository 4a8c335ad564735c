#!/usr/bin/env bash
# tools.sh — install what a fresh machine lacks for `make test`, `make dev`
# and `make bench`. Quick (no network) when everything is present.
#
#   aws-lambda-rie   go install (into $(go env GOPATH)/bin)
#   codex            npm, into .tools/codex (git-ignored)
#   claude           npm @anthropic-ai/claude-code, into .tools/claude-code
#   @anthropic-ai/sdk   npm, into .tools/anthropic-sdk (the TS SDK test client)
#   openai           the OpenAI Node SDK, npm, into .tools/openai (e2e tests)
#   moto_server, aws, cfn-lint   checked; pip-installed when missing
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

RIE_MODULE=github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie
RIE_VERSION=v0.0.0-20261030222936-bef5c4ba774d
CODEX_VERSION=0.169.0
CLAUDE_CODE_VERSION=2.1.328
ANTHROPIC_SDK_VERSION=1.14.0
# The newest OpenAI Node SDK that runs on Node 20 (7.x needs Node >= 22).
OPENAI_NODE_VERSION=6.49.0

log() { echo "tools: $*" >&2; }

gobin=$(go env GOBIN)
[[ -n $gobin ]] || gobin=$(go env GOPATH)/bin
if command -v aws-lambda-rie >/dev/null 2>&1 || [[ -x $gobin/aws-lambda-rie ]]; then
	:
else
	log "installing aws-lambda-rie@$RIE_VERSION"
	go install "$RIE_MODULE@$RIE_VERSION"
fi

mkdir -p .tools
[[ -f .tools/.gitignore ]] || echo '*' >.tools/.gitignore
codex_pkg=.tools/codex/node_modules/@openai/codex/package.json
if [[ -x .tools/codex/node_modules/.bin/codex ]] &&
	grep -q "\"version\": *\"$CODEX_VERSION\"" "$codex_pkg" 2>/dev/null; then
	:
else
	log "installing @openai/codex@$CODEX_VERSION into .tools/codex"
	npm i --no-audit --no-fund --prefix .tools/codex "@openai/codex@$CODEX_VERSION" >&2
fi

# npm_pinned DIR PACKAGE VERSION installs PACKAGE@VERSION into .tools/DIR
# unless that exact version is there.
npm_pinned() {
	local dir=$1 pkg=$2 version=$3
	if grep -q "\"version\": *\"$version\"" ".tools/$dir/node_modules/$pkg/package.json" 2>/dev/null; then
		return
	fi
	log "installing $pkg@$version into .tools/$dir"
	npm i --no-audit --no-fund --prefix ".tools/$dir" "$pkg@$version" >&2
}
npm_pinned claude-code @anthropic-ai/claude-code "$CLAUDE_CODE_VERSION"
npm_pinned anthropic-sdk @anthropic-ai/sdk "$ANTHROPIC_SDK_VERSION"
npm_pinned openai openai "$OPENAI_NODE_VERSION"

missing=()
for tool in moto_server aws cfn-lint; do
	command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if [[ ${#missing[@]} -gt 0 ]]; then
	log "missing: ${missing[*]}; installing with pip"
	if ! python3 -m pip install 'moto[server]' awscli cfn-lint >&2; then
		log "pip install failed. Install them by hand:"
		log "    pip install 'moto[server]' awscli cfn-lint"
		exit 1
	fi
	hash -r
	for tool in "${missing[@]}"; do
		if ! command -v "$tool" >/dev/null 2>&1; then
			log "$tool still not on PATH after pip install (pyenv users: pyenv rehash)"
			exit 1
		fi
	done
fi
