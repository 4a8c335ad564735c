#!/usr/bin/env bash
# bench.sh — `make bench`: measure codexgate against docs/DESIGN.md §9 and write
# docs/BENCHMARKS.md. Runs under scripts/with-stack.sh (moto on loopback).
# Builds the binaries into a temporary directory, re-measures the Refresher
# benchmarks of shared/codex, then runs cmd/codexgate-bench, which starts
# (and stops) the simulator, codexgate serve processes and RIE containers.
# Pass extra flags to codexgate-bench in BENCHFLAGS (e.g. "-n1 500 -n8 1000").
# BENCH_ONLY=cpushare runs the Lambda CPU-share section alone (about a
# minute): it prints that section and leaves docs/BENCHMARKS.md alone;
# BENCH_ONLY=envelope does the same for the envelope section (about 2 minutes),
# BENCH_ONLY=keyctl for the per-key routing controls (AWS calls and CPU per
# request of a key with every control set against a plain key, about a minute).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
go=${GO:-go}
bin=$(mktemp -d "${TMPDIR:-/tmp}/codexgate-bench.XXXXXX")
trap 'rm -rf "$bin"' EXIT

echo "bench: building (host $($go env GOARCH), and make build for arm64)" >&2
make --no-print-directory build >&2
flags=(-trimpath -ldflags='-s -w')
$go build "${flags[@]}" -o "$bin/codexgate" ./cmd/codexgate
$go build "${flags[@]}" -o "$bin/openaisim" ./cmd/openaisim
$go build -o "$bin/codexgate-bench" ./cmd/codexgate-bench
for dir in functions/*/; do
	fn=$(basename "$dir")
	CGO_ENABLED=0 GOOS=linux $go build -tags lambda.norpc "${flags[@]}" -o "$bin/$fn/bootstrap" ./functions/$fn
done

only=()
if [ -n "${BENCH_ONLY:-}" ]; then
	only=(-only "$BENCH_ONLY" -out "$bin/$BENCH_ONLY.md" -command "BENCH_ONLY=$BENCH_ONLY make bench")
else
	echo "bench: shared/codex Refresher benchmarks" >&2
	$go test -run '^$' -bench Refresher -benchtime=${REFRESHER_BENCHTIME:-20x} ./shared/codex/ 2>&1 |
		grep -E '^(Benchmark|goos|goarch|cpu|ok|---|\s+bench_test)' | awk '!seen[$0]++' | tee "$bin/refresher.txt" >&2 || true
	# The warm path needs more iterations than a full refresh to mean anything.
	$go test -run '^$' -bench 'Refresher_WarmPath' -benchtime=1s ./shared/codex/ 2>&1 |
		grep -E '^Benchmark' | tee -a "$bin/refresher.txt" >&2 || true
fi

# shellcheck disable=SC2086
"$bin/codexgate-bench" -bin "$bin" -arm build -out docs/BENCHMARKS.md \
	-refresher-bench "$bin/refresher.txt" -command "make bench" ${BENCHFLAGS:-} "${only[@]}"
