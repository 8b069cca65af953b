#!/usr/bin/env bash
# Layer writing throughput: oci/layer (tar → sha256 → gzip|zstd → sha256 → file,
# one pass) against the shell pipeline `tar | gzip | sha256sum` (which does
# less: one digest, no diffID).  Work files live in /dev/shm; repeats
# alternate ours and the peer to even out machine noise; best run counts.
#   bench/layer-write.sh [MiB] [repeats] [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
mib=${1:-512}
reps=${2:-3}
build=${3:-build}
make -s BUILD="$build" "$build/tools/layer" >/dev/null 2>&1 || [ -x "$build/tools/layer" ]
layer=$build/tools/layer
work=$(mktemp -d /dev/shm/layer-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir "$work/src"
# Half incompressible, half text-like: closer to real layers than zeros.
head -c $((mib * 1024 * 1024 / 2)) /dev/urandom >"$work/src/random"
head -c $((mib * 1024 * 1024 / 2 * 3 / 4)) /dev/urandom | base64 -w 76 >"$work/src/text"
truncate -s $((mib * 1024 * 1024 / 2)) "$work/src/text"
threads=$(nproc)

declare -A best
run() { # label, command...
	local label=$1 t0 t1 s
	shift
	t0=$(date +%s.%N)
	"$@" >/dev/null
	t1=$(date +%s.%N)
	s=$(awk -v a="$t0" -v b="$t1" -v m="$mib" 'BEGIN { printf "%.1f", m / (b - a) }')
	if [ -z "${best[$label]:-}" ] || awk -v x="$s" -v y="${best[$label]}" 'BEGIN { exit !(x > y) }'; then
		best[$label]=$s
	fi
}
labels=("ours gzip -6, 1 thread" "ours gzip -6, $threads threads" "tar | gzip -6 | sha256sum"
	"ours zstd -3, 1 thread" "ours zstd -3, $threads threads" "tar | zstd -3 | sha256sum")
for _ in $(seq "$reps"); do
	run "${labels[0]}" "$layer" write --gzip --threads 1 "$work/src" "$work/out"
	run "${labels[2]}" sh -c "tar -C '$work/src' -cf - . | gzip -6 | sha256sum"
	run "${labels[1]}" "$layer" write --gzip --threads "$threads" "$work/src" "$work/out"
	run "${labels[3]}" "$layer" write --zstd --threads 1 "$work/src" "$work/out"
	run "${labels[5]}" sh -c "tar -C '$work/src' -cf - . | zstd -q -3 | sha256sum"
	run "${labels[4]}" "$layer" write --zstd --threads "$threads" "$work/src" "$work/out"
done
for l in "${labels[@]}"; do
	printf '%-36s %8s MB/s (%s MiB)\n' "$l" "${best[$l]}" "$mib"
done
