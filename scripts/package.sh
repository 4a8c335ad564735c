#!/usr/bin/env bash
# package.sh — `make package`: what the AWS Serverless Application Repository
# needs to publish codexgate (docs/DEPLOY.md, "Publishing"):
#
#   1. checks the SAM CLI is at least $SAM_MIN (as make deploy does) and that
#      BUCKET names the S3 bucket to upload to;
#   2. sam build, with make build's flags and the release from VERSION;
#   3. sam package: uploads the three function zips and the LICENSE and
#      README.md files the template's AWS::ServerlessRepo::Application
#      metadata names, and writes build/packaged.yaml, which refers to them;
#   4. prints the `sam publish` command.
#
# The bucket must let the repository read the uploads (a bucket policy
# granting serverlessrepo.amazonaws.com s3:GetObject; docs/DEPLOY.md shows
# it). Environment: BUCKET (required), AWS_REGION (default us-east-1),
# SAM (default sam).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

# Keep in step with scripts/deploy.sh: the first SAM CLI whose translator
# accepts ResponseTransferMode.
SAM_MIN=1.158.0
SAM=${SAM:-sam}
region=${AWS_REGION:-${AWS_DEFAULT_REGION:-us-east-1}}
bucket=${BUCKET:-}
out=build/packaged.yaml

die() {
	echo "package: $*" >&2
	exit 1
}

# version_ge A B: A >= B, dotted numeric versions.
version_ge() {
	[[ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -1)" == "$2" ]]
}

command -v "$SAM" >/dev/null 2>&1 ||
	die "SAM CLI not found: make package runs sam build and sam package; install it (https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/install-sam-cli.html), version $SAM_MIN or later"
sam_version=$("$SAM" --version 2>/dev/null | grep -oE '[0-9]+\.[0-9]+\.[0-9]+' | head -1 || true)
[[ -n $sam_version ]] || die "cannot read the SAM CLI version from '$SAM --version'"
version_ge "$sam_version" "$SAM_MIN" ||
	die "SAM CLI $sam_version is too old: template.yaml streams the API (ResponseTransferMode), which needs SAM CLI $SAM_MIN or later; upgrade it"
[[ -n $bucket ]] ||
	die "set BUCKET to an S3 bucket in $region that serverlessrepo.amazonaws.com may read (make package BUCKET=my-bucket; docs/DEPLOY.md shows the bucket policy)"
command -v go >/dev/null 2>&1 || die "Go not found: sam build compiles the functions with it"

version=$(cat VERSION)
echo "package: codexgate $version: sam build" >&2
CGO_ENABLED=0 GOFLAGS="-tags=lambda.norpc -trimpath '-ldflags=-s -w -X github.com/codexgate/codexgate/shared/version.linked=$version'" "$SAM" build --region "$region"
mkdir -p build && { [[ -f build/.gitignore ]] || echo '*' >build/.gitignore; }
echo "package: sam package to s3://$bucket" >&2
"$SAM" package --region "$region" --s3-bucket "$bucket" --output-template-file "$out"

cat <<EOT

$out is ready: codexgate $version, its code and LICENSE/README.md in s3://$bucket.
Publish it (a new application, or a new version of one):
  sam publish --region $region --template $out
EOT
