#!/usr/bin/env bash
# Parse a generated 10,000-line Dockerfile with `ibuild debug ast` (target:
# well under 50 ms).  The file mixes every instruction shape: continuations,
# comments, JSON and shell forms, ENV pairs, flags, heredocs.  Uses
# hyperfine when installed, else the best of several `date` timings.
#   bench/dockerfile-parse.sh [BUILD_DIR] [LINES]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
lines=${2:-10000}
ibuild=$build/bin/ibuild
[ -x "$ibuild" ] || make -s BUILD="$build" all
work=$(mktemp -d "${TMPDIR:-/dev/shm}/df-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT

df=$work/Dockerfile
{
	echo '# syntax=docker/dockerfile:1'
	echo 'ARG BASE=debian:12'
	echo 'FROM $BASE AS build'
	n=3
	i=0
	while [ "$n" -lt "$lines" ]; do
		i=$((i + 1))
		case $((i % 8)) in
		0) printf 'RUN apt-get update \\\n    && apt-get install -y --no-install-recommends pkg%d \\\n    # a comment\n    && rm -rf /var/lib/apt/lists/*\n' "$i"; n=$((n + 4)) ;;
		1) printf 'ENV VAR_%d="value %d" OTHER_%d=x\\ y\n' "$i" "$i" "$i"; n=$((n + 1)) ;;
		2) printf 'COPY --from=build --chown=1000:1000 ["src/%d", "/app/%d/"]\n' "$i" "$i"; n=$((n + 1)) ;;
		3) printf 'RUN <<EOF\necho line one %d\necho line two\nEOF\n' "$i"; n=$((n + 4)) ;;
		4) printf 'LABEL org.example.n%d="%d" description="a long label value with spaces %d"\n' "$i" "$i" "$i"; n=$((n + 1)) ;;
		5) printf 'CMD ["/usr/bin/app", "--flag=%d", "--verbose"]\n' "$i"; n=$((n + 1)) ;;
		6) printf '# just a comment line %d\n\n' "$i"; n=$((n + 2)) ;;
		7) printf 'WORKDIR /srv/%d\n' "$i"; n=$((n + 1)) ;;
		esac
	done
} >"$df"
echo "Dockerfile: $(wc -l <"$df") lines, $(wc -c <"$df") bytes"
"$ibuild" debug ast "$df" >/dev/null

if command -v hyperfine >/dev/null; then
	hyperfine -N --warmup 3 --runs 30 "$ibuild debug ast $df"
else
	best=
	for _ in $(seq 20); do
		s=$(date +%s%N)
		"$ibuild" debug ast "$df" >/dev/null
		e=$(date +%s%N)
		t=$(((e - s) / 1000))
		if [ -z "$best" ] || [ "$t" -lt "$best" ]; then best=$t; fi
	done
	awk -v us="$best" 'BEGIN { printf "ibuild debug ast: best of 20: %.2f ms\n", us / 1000 }'
fi
