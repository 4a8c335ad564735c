#!/usr/bin/env bash
# tools.sh — install what a fresh machine lacks for `make test`, `make dev`
# and `make bench`. Quick (no network) when everything is present.
#
#   aws-lambda-rie   go install (into $(go env GOPATH)/bin)
#   codex            npm, into .tools/codex (git-ignored)
#   openai           the OpenAI Node SDK, npm, into .tools/openai (e2e tests)
#   moto_server, aws, cfn-lint   checked; pip-installed when missing
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

RIE_MODULE=github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie
RIE_VERSION=v0.0.0-20261030222936-bef5c4ba774d
CODEX_VERSION=0.169.0
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

openai_pkg=.tools/openai/node_modules/openai/package.json
if grep -q "\"version\": *\"$OPENAI_NODE_VERSION\"" "$openai_pkg" 2>/dev/null; then
	:
else
	log "installing openai@$OPENAI_NODE_VERSION (Node SDK) into .tools/openai"
	npm i --no-audit --no-fund --prefix .tools/openai "openai@$OPENAI_NODE_VERSION" >&2
fi

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
