#!/usr/bin/env bash
# Walk a generated 100,000-file build context whose .dockerignore excludes 90%
# of it (90 of 100 top directories, plus a glob over the rest) and report the
# time of builder/dockerfile's context walk.  Target: well under a second.
#   bench/context-walk.sh [BUILD_DIR] [repeats]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
reps=${2:-5}
make -s BUILD="$build" all >/dev/null
mkdir -p "$build/bench"
cc -std=gnu11 -O2 -D_GNU_SOURCE -I. -o "$build/bench/context-walk" bench/context-walk.c \
	"$build/lib/libbuilder.a" "$build/lib/libregistry.a" "$build/lib/liboci.a" \
	"$build/lib/libdigest.a" "$build/lib/libcommon.a"
base=/dev/shm
[ -w "$base" ] || base=${TMPDIR:-/tmp}
ctx=$(mktemp -d "$base/context-walk.XXXXXX")
trap 'rm -rf "$ctx"' EXIT
# 100 directories x 10 subdirectories x 100 files = 100,000 files.
for d in $(seq 0 99); do
	for s in $(seq 0 9); do
		mkdir -p "$ctx/d$d/s$s"
		(cd "$ctx/d$d/s$s" && touch $(seq -f 'f%g.txt' 0 98) f99.tmp)
	done
done
printf 'FROM scratch\nCOPY . /\n' >"$ctx/Dockerfile"
# d10..d99 (90%%) excluded; in d0..d9 the *.tmp files too; one exception.
printf '# generated\nd[1-9]?\n**/*.tmp\n!d5/s5/f99.tmp\n' >"$ctx/.dockerignore"
echo "context: $(find "$ctx" -type f | wc -l) files"
for _ in $(seq "$reps"); do
	"$build/bench/context-walk" "$ctx"
done
