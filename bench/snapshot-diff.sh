#!/usr/bin/env bash
# Diff cost of a RUN step does not depend on the base size: a step touching
# 10 files in a 200,000-file base, then the upper dir → layer (what ibuild
# does after every RUN), against a walk of the base tree (what a
# snapshotter without overlay — kaniko, buildah on vfs — has to do at
# least).  Work dirs live in /dev/shm.  Run as root or as a user with a
# subordinate id range.
#   bench/snapshot-diff.sh [files] [repeats] [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
files=${1:-200000}
reps=${2:-3}
build=${3:-build}
make -s BUILD="$build" "$build/tools/sandbox-run" >/dev/null 2>&1 || [ -x "$build/tools/sandbox-run" ]
sbx=$PWD/$build/tools/sandbox-run
work=$(mktemp -d /dev/shm/snapshot-bench.XXXXXX)
trap '"$sbx" rm "$work" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

# Base: busybox plus FILES small files in 1,000 dirs (one perl process:
# forking per file would dominate).
mkdir -p "$work/base/bin" "$work/base/etc"
cp /bin/busybox "$work/base/bin/busybox"
ln -s busybox "$work/base/bin/sh"
echo 'root:x:0:0:root:/root:/bin/sh' >"$work/base/etc/passwd"
perl -e 'my ($d, $n) = @ARGV; for my $i (0 .. $n - 1) { my $dir = sprintf("%s/data/%03d", $d, $i % 1000);
	mkdir "$d/data"; mkdir $dir; open(my $f, ">", "$dir/f$i") or die; print $f "file $i\n"; close $f }' \
	"$work/base" "$files"

ms() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b - a) * 1000 }'; }
best_step=; best_commit=; best_walk=
for r in $(seq "$reps"); do
	mkdir "$work/u$r" "$work/w$r"
	t0=$(date +%s.%N)
	"$sbx" run --lower "$work/base" --upper "$work/u$r" --work "$work/w$r" -- \
		sh -c 'for i in 1 2 3 4 5 6 7 8 9 10; do echo changed >>/data/$(printf %03d $i)/f$i; done'
	t1=$(date +%s.%N)
	"$sbx" commit --upper "$work/u$r" --out "$work/layer$r" >/dev/null
	t2=$(date +%s.%N)
	find "$work/base" -printf '%s %T@ %u\n' >/dev/null
	t3=$(date +%s.%N)
	s=$(ms "$t0" "$t1"); c=$(ms "$t1" "$t2"); w=$(ms "$t2" "$t3")
	[ -z "$best_step" ] || awk -v x="$s" -v y="$best_step" 'BEGIN { exit !(x > y) }' || best_step=$s
	[ -z "$best_commit" ] || awk -v x="$c" -v y="$best_commit" 'BEGIN { exit !(x > y) }' || best_commit=$c
	[ -z "$best_walk" ] || awk -v x="$w" -v y="$best_walk" 'BEGIN { exit !(x > y) }' || best_walk=$w
	[ -n "$best_step" ] || best_step=$s
	[ -n "$best_commit" ] || best_commit=$c
	[ -n "$best_walk" ] || best_walk=$w
done
entries=$(tar -tf "$work/layer1" | wc -l)
printf 'base: %s files; the step changed 10 (layer: %s tar entries)\n' "$files" "$entries"
printf '%-44s %10s ms\n' "RUN step (namespaces + overlay + exec)" "$best_step" \
	"upper dir -> layer (diff, tar, sha256)" "$best_commit" \
	"one stat walk of the base (find -printf)" "$best_walk"
