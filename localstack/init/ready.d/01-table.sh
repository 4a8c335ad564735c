#!/usr/bin/env bash
# 01-table.sh — create the codexgate DynamoDB table, idempotently.
#
# LocalStack runs every init/ready.d/*.sh once it is ready; scripts/with-stack.sh
# runs the same files against moto. Safe to run any number of times.
#
# Table ${CODEXGATE_TABLE:-codexgate}: keys pk (S, HASH) and sk (S, RANGE),
# on-demand billing, TTL on attribute "ttl" (clean-up only; code never relies
# on TTL to decide expiry). Same schema as template.yaml and
# internal/testsupport.NewTable.
#
# Uses awslocal when present, else `aws --endpoint-url "$AWS_ENDPOINT_URL"`.
# Each aws CLI (v1) call costs about a second of Python start-up, so the
# common case (table exists, TTL on) makes two calls.
set -euo pipefail

table=${CODEXGATE_TABLE:-codexgate}
err=$(mktemp)
trap 'rm -f "$err"' EXIT

if command -v awslocal >/dev/null 2>&1; then
	awsc() { awslocal "$@"; }
elif [[ -n ${AWS_ENDPOINT_URL:-} ]]; then
	awsc() { aws --endpoint-url "$AWS_ENDPOINT_URL" "$@"; }
else
	echo "01-table.sh: neither awslocal nor AWS_ENDPOINT_URL is set; refusing to touch real AWS" >&2
	exit 1
fi

# Create first and tolerate "already exists": one call in either case.
if status=$(awsc dynamodb create-table \
	--table-name "$table" \
	--billing-mode PAY_PER_REQUEST \
	--attribute-definitions AttributeName=pk,AttributeType=S AttributeName=sk,AttributeType=S \
	--key-schema AttributeName=pk,KeyType=HASH AttributeName=sk,KeyType=RANGE \
	--query TableDescription.TableStatus --output text 2>"$err"); then
	echo "01-table.sh: created table $table ($status)"
	if [[ $status != ACTIVE ]]; then
		awsc dynamodb wait table-exists --table-name "$table"
	fi
elif grep -q ResourceInUseException "$err"; then
	echo "01-table.sh: table $table exists"
else
	cat "$err" >&2
	exit 1
fi

# Enabling TTL twice is an error on AWS: look first.
ttl=$(awsc dynamodb describe-time-to-live --table-name "$table" \
	--query 'TimeToLiveDescription.[TimeToLiveStatus,AttributeName]' --output text)
case $ttl in
ENABLED*ttl | ENABLING*ttl)
	echo "01-table.sh: TTL on ttl already enabled"
	;;
*)
	awsc dynamodb update-time-to-live --table-name "$table" \
		--time-to-live-specification Enabled=true,AttributeName=ttl >/dev/null
	echo "01-table.sh: enabled TTL on ttl"
	;;
esac
