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

SAM=${SAM:-sam}
region=${AWS_REGION:-${AWS_DEFAULT_REGION:-us-east-1}}
bucket=${BUCKET:-}
out=build/packaged.yaml

die() {
	echo "package: $*" >&2
	exit 1
}

# shellcheck source=scripts/sam-check.sh
source "$root/scripts/sam-check.sh"
check_sam "make package runs sam build and sam package"
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
