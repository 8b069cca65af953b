#!/usr/bin/env bash
# ipush/ipull vs `skopeo copy` against the same local registry (CNCF
# distribution, Debian docker-registry) in one run: a 5-layer ~400 MB image
# and a 100-layer small image, push (OCI layout → registry) and pull
# (registry → OCI layout).  Runs alternate ours and skopeo; the median of
# REPEATS runs is reported with the ratio skopeo/ours (> 1: we are faster).
#
#   bench/client-vs-skopeo.sh [BUILD_DIR]     (default build)
#   REPEATS=3 BIG_MB=80 WORK=/dev/shm
#   BEFORE=DIR   also time the ipush/ipull in DIR (an older build's bin/)
#                in the same runs, e.g. to check a change is not slower
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
bin=$PWD/$build/bin
tools=$PWD/$build/tools
repeats=${REPEATS:-3}
big_mb=${BIG_MB:-80}
work=$(mktemp -d "${WORK:-/dev/shm}/client-bench.XXXXXX")
cleanup() {
	stop_regs
	rm -rf "$work"
}
trap cleanup EXIT
before=${BEFORE:-}
for t in "$bin/ipush" "$bin/ipull" "$tools/ocilayout" ${before:+"$before/ipush" "$before/ipull"}; do
	[ -x "$t" ] || { echo "missing $t: run make BUILD=$build tests" >&2; exit 1; }
done
command -v skopeo docker-registry >/dev/null

# Two registries, restarted empty for every repetition: ours pushes to A,
# skopeo to B, so neither can mount or skip a blob pushed earlier (skopeo's
# blob-info cache would otherwise mount from a previous run); each then
# pulls what the other pushed.
reg_pids=()
start_reg() { # NAME: sets REG_<NAME>
	local port
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	rm -rf "$work/registry-$1"
	cat >"$work/reg-$1.yml" <<YML
version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: $work/registry-$1
http:
  addr: 127.0.0.1:$port
YML
	docker-registry serve "$work/reg-$1.yml" >"$work/reg-$1.log" 2>&1 &
	reg_pids+=($!)
	for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$port/v2/" && break; sleep 0.1; done
	printf -v "REG_$1" '%s' "127.0.0.1:$port"
}
stop_regs() {
	local p
	for p in "${reg_pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null || true; done
	reg_pids=()
}

echo "building test images in $work ..." >&2
mkdir -p "$work/layers"
jobs_=()
for i in 1 2 3 4 5; do
	(
		trap - EXIT
		mkdir -p "$work/layers/big$i"
		head -c $((big_mb * 1024 * 1024)) /dev/urandom >"$work/layers/big$i/data$i"
		tar -C "$work/layers/big$i" -cf - . | gzip -1 >"$work/layers/big$i.tar.gz"
		rm -rf "$work/layers/big$i"
	) &
	jobs_+=($!)
done
for j in "${jobs_[@]}"; do wait "$j"; done
for i in $(seq 100); do
	mkdir -p "$work/layers/s$i"
	head -c 8192 /dev/urandom >"$work/layers/s$i/f$i"
	tar -C "$work/layers/s$i" -czf "$work/layers/s$i.tar.gz" .
	rm -rf "$work/layers/s$i"
done
"$tools/ocilayout" build "$work/lay" big "$work"/layers/big{1,2,3,4,5}.tar.gz >/dev/null
small=()
for i in $(seq 100); do small+=("$work/layers/s$i.tar.gz"); done
"$tools/ocilayout" build "$work/lay" small "${small[@]}" >/dev/null
rm -rf "$work/layers"
size_big=$(du -sm "$work/lay" | cut -f1)
echo "layout: ${size_big} MB" >&2

now() { date +%s.%N; }
# time_cmd CMD...: seconds on stdout.
time_cmd() {
	local s e
	s=$(now)
	"$@" >/dev/null 2>"$work/last.err" || { cat "$work/last.err" >&2; return 1; }
	e=$(now)
	python3 -c "print(f'{$e - $s:.3f}')"
}
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

declare -A T
for img in big small; do
	for r in $(seq "$repeats"); do
		start_reg A
		start_reg B
		[ -n "$before" ] && start_reg C
		T[$img,push,ours]+=" $(time_cmd "$bin/ipush" -q oci:"$work/lay":$img "$REG_A/bench/$img:$r")"
		T[$img,push,skopeo]+=" $(time_cmd skopeo copy -q --dest-tls-verify=false oci:"$work/lay":$img "docker://$REG_B/bench/$img:$r")"
		[ -n "$before" ] &&
			T[$img,push,before]+=" $(time_cmd "$before/ipush" -q oci:"$work/lay":$img "$REG_C/bench/$img:$r")"
		rm -rf "$work/o" "$work/s"
		# The older build pulls the same image from the same registry, whose
		# caches the first pull warms: take turns at going first.
		if [ -n "$before" ] && [ $((r % 2)) = 0 ]; then
			T[$img,pull,before]+=" $(time_cmd "$before/ipull" -q --output oci:"$work/o":x "$REG_B/bench/$img:$r")"
			rm -rf "$work/o"
		fi
		T[$img,pull,ours]+=" $(time_cmd "$bin/ipull" -q --output oci:"$work/o":x "$REG_B/bench/$img:$r")"
		T[$img,pull,skopeo]+=" $(time_cmd skopeo copy -q --src-tls-verify=false "docker://$REG_A/bench/$img:$r" oci:"$work/s":x)"
		rm -rf "$work/o" "$work/s"
		if [ -n "$before" ] && [ $((r % 2)) = 1 ]; then
			T[$img,pull,before]+=" $(time_cmd "$before/ipull" -q --output oci:"$work/o":x "$REG_B/bench/$img:$r")"
			rm -rf "$work/o"
		fi
		stop_regs
	done
done

printf '\n%-28s %10s %10s %8s%s\n' "case (median of $repeats)" "ours (s)" "skopeo (s)" "ratio" \
	"${before:+    before (s)}"
for img in big small; do
	for dir in push pull; do
		# shellcheck disable=SC2086
		o=$(median ${T[$img,$dir,ours]})
		# shellcheck disable=SC2086
		s=$(median ${T[$img,$dir,skopeo]})
		label="$dir $([ $img = big ] && echo "5 x ${big_mb} MB layers" || echo "100 small layers")"
		b=
		# shellcheck disable=SC2086
		[ -n "$before" ] && b=$(printf '%14s' "$(median ${T[$img,$dir,before]})")
		printf '%-28s %10s %10s %7sx%s\n' "$label" "$o" "$s" "$(python3 -c "print(f'{$s / $o:.2f}')")" "$b"
	done
done
