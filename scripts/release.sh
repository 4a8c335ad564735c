#!/usr/bin/env bash
# release.sh — `make release`: the artefacts of release $(cat VERSION), in
# build/release/<version>/ (OUT to change it):
#
#   codexgate_<v>_<os>_<arch>.tar.gz   the CLI for linux and darwin, amd64 and
#                                      arm64, with LICENSE, NOTICE, README.md
#   <function>_<v>_linux_arm64.zip     each Lambda function's deployment
#                                      package (bootstrap at the root), as
#                                      template.yaml runs it (provided.al2023,
#                                      arm64)
#   SHA256SUMS                         sha256 of each, `sha256sum -c` format
#
# Every binary is static (CGO_ENABLED=0), built with -trimpath and links the
# version (codexgate version; the functions' cold-start log line). Archive
# entries carry the last commit's time, so a rebuild of the same commit gives
# the same archives. CHANGELOG.md must have a section for the version.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

die() {
	echo "release: $*" >&2
	exit 1
}

version=$(cat VERSION)
[[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "VERSION holds '$version', want MAJOR.MINOR.PATCH"
grep -q "^## \[$version\]" CHANGELOG.md || die "CHANGELOG.md has no '## [$version]' section: say what the release changes first"
command -v zip >/dev/null 2>&1 || die "zip not found: the Lambda deployment packages are zip files (apt-get install zip)"
if command -v sha256sum >/dev/null 2>&1; then
	sha256() { sha256sum "$@"; }
elif command -v shasum >/dev/null 2>&1; then
	sha256() { shasum -a 256 "$@"; }
else
	die "neither sha256sum nor shasum found"
fi
if [[ -n $(git status --porcelain 2>/dev/null) ]]; then
	echo "release: WARNING: the work tree has uncommitted changes; these artefacts are not those of a commit" >&2
fi

out=${OUT:-build/release/$version}
mkdir -p build && { [[ -f build/.gitignore ]] || echo '*' >build/.gitignore; }
rm -rf "$out"
mkdir -p "$out"
out=$(cd "$out" && pwd)
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
# One timestamp for every archive entry: the commit's, else the epoch.
epoch=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 0)}
stamp=$(date -u -d "@$epoch" +%Y%m%d%H%M.%S 2>/dev/null || date -u -r "$epoch" +%Y%m%d%H%M.%S)

# GNU tar can drop the builder's user and order entries; bsdtar (macOS)
# stores what it finds.
tarflags=()
if tar --version 2>/dev/null | grep -q GNU; then
	tarflags=(--owner=0 --group=0 --numeric-owner --sort=name)
fi

ldflags="-s -w -X github.com/codexgate/codexgate/shared/version.linked=$version"
gobuild() { # GOOS GOARCH OUTPUT PACKAGE [FLAGS...]
	local os=$1 arch=$2 o=$3 pkg=$4
	shift 4
	CGO_ENABLED=0 GOOS=$os GOARCH=$arch go build -trimpath -ldflags="$ldflags" "$@" -o "$o" "$pkg"
}

for os in linux darwin; do
	for arch in amd64 arm64; do
		name=codexgate_${version}_${os}_${arch}
		echo "release: $name.tar.gz" >&2
		mkdir -p "$stage/$name"
		gobuild "$os" "$arch" "$stage/$name/codexgate" ./cmd/codexgate
		cp LICENSE NOTICE README.md "$stage/$name/"
		touch -t "$stamp" "$stage/$name" "$stage/$name"/*
		tar -C "$stage" "${tarflags[@]}" -cf - "$name" | gzip -n -9 >"$out/$name.tar.gz"
	done
done

for dir in functions/*/; do
	fn=$(basename "$dir")
	name=${fn}_${version}_linux_arm64
	echo "release: $name.zip" >&2
	mkdir -p "$stage/$name"
	gobuild linux arm64 "$stage/$name/bootstrap" "./functions/$fn" -tags lambda.norpc
	chmod 0755 "$stage/$name/bootstrap"
	touch -t "$stamp" "$stage/$name/bootstrap"
	(cd "$stage/$name" && zip -q -X "$out/$name.zip" bootstrap)
done

(cd "$out" && sha256 *.tar.gz *.zip >SHA256SUMS)
echo "release: codexgate $version in $out" >&2
cat "$out/SHA256SUMS"
