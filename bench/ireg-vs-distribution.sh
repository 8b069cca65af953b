#!/usr/bin/env bash
# ireg vs CNCF distribution (docker-registry) on the same machine and disk,
# in one run, alternating, printing the median of REPEATS runs and ratios.
#   bench/ireg-vs-distribution.sh [BUILD_DIR]
# Env: SIZE_MB (default 1024), REPEATS (3), WRK_SECONDS (10), WORK (dir on
# /dev/shm by default), IREG_THREADS (ireg worker threads, default: ireg's).
# Not a test: prints a table, exits 0 unless something fails to run.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=registry-lib.bash
. bench/registry-lib.bash
build=${1:-build}
size_mb=${SIZE_MB:-1024}
repeats=${REPEATS:-3}
wrk_s=${WRK_SECONDS:-10}
base=${WORK:-/dev/shm}
work=$(mktemp -d "$base/ireg-bench.XXXXXX")
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
	rm -rf "$work"
}
trap cleanup EXIT

for t in curl wrk docker-registry jq python3; do
	command -v "$t" >/dev/null || { echo "missing $t" >&2; exit 1; }
done
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# --- servers ---
iport=$(free_port)
"$build/bin/ireg" serve --addr "127.0.0.1:$iport" --root "$work/ireg" --no-access-log \
	${IREG_THREADS:+--threads "$IREG_THREADS"} 2>"$work/ireg.err" &
ipid=$!
pids+=("$ipid")
dport=$(free_port)
cat >"$work/dist.yml" <<YML
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $work/dist
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$dport
YML
docker-registry serve "$work/dist.yml" >"$work/dist.log" 2>&1 &
dpid=$!
pids+=("$dpid")
for u in "http://127.0.0.1:$iport" "http://127.0.0.1:$dport"; do
	for _ in $(seq 200); do curl -sf "$u/v2/" >/dev/null && break; sleep 0.05; done
done
declare -A URL=([ireg]="http://127.0.0.1:$iport" [dist]="http://127.0.0.1:$dport")
declare -A PID=([ireg]=$ipid [dist]=$dpid)

echo "generating ${size_mb} MiB of random data in $work" >&2
head -c $((size_mb * 1024 * 1024)) /dev/urandom >"$work/big"
digest=sha256:$(sha256sum "$work/big" | cut -d' ' -f1)

manifest_get() { # SERVER -> "req/s p99_ms"
	local s=$1 out rps p99
	out=$(wrk -t2 -c64 -d"${wrk_s}s" --latency -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
		"${URL[$s]}/v2/bench/man/manifests/latest")
	rps=$(echo "$out" | awk '/^Requests\/sec/ {print $2}')
	p99=$(echo "$out" | awk '$1 == "99%" {print $2}')
	case $p99 in
	*us) p99=$(echo "${p99%us} / 1000" | bc -l) ;;
	*ms) p99=${p99%ms} ;;
	*s) p99=$(echo "${p99%s} * 1000" | bc -l) ;;
	esac
	if echo "$out" | grep -q 'Non-2xx'; then echo "warning: $s answered non-2xx: $(echo "$out" | grep Non-2xx)" >&2; fi
	echo "$rps $p99"
}

declare -A R
for s in ireg dist; do push_manifest "$s"; done
for ((r = 1; r <= repeats; r++)); do
	echo "round $r/$repeats" >&2
	for s in ireg dist; do R[$s,mono]+="$(registry_mono_upload "$s" "bench/mono$r") "; done
	for s in dist ireg; do R[$s,chunk]+="$(chunked_upload "$s" "bench/chunk$r") "; done
	for s in ireg dist; do R[$s,down]+="$(registry_download "$s" "bench/mono$r") "; done
	for s in dist ireg; do
		read -r rps p99 < <(manifest_get "$s")
		R[$s,rps]+="$rps "
		R[$s,p99]+="$p99 "
	done
done
R[ireg,rss]=$(rss "$ipid")
R[dist,rss]=$(rss "$dpid")

med() { echo "${R[$1,$2]}" | tr ' ' '\n' | grep . | median; }
printf '\n%-34s %12s %12s %10s\n' "metric (median of $repeats)" ireg distribution ratio
row() { # LABEL KEY HIGHER_IS_BETTER
	local a b ratio
	a=$(med ireg "$2")
	b=$(med dist "$2")
	if [ "$3" = 1 ]; then ratio=$(echo "$a / $b" | bc -l); else ratio=$(echo "$b / $a" | bc -l); fi
	printf '%-34s %12.1f %12.1f %9.2fx\n' "$1" "$a" "$b" "$ratio"
}
row "${size_mb} MiB monolithic upload (MB/s)" mono 1
row "${size_mb} MiB chunked upload 16M (MB/s)" chunk 1
row "${size_mb} MiB download (MB/s)" down 1
row "manifest GET, wrk -c64 (req/s)" rps 1
row "manifest GET p99 latency (ms)" p99 0
printf '%-34s %12.1f %12.1f %9.2fx\n' "peak server RSS (MiB)" "${R[ireg,rss]}" "${R[dist,rss]}" \
	"$(echo "${R[dist,rss]} / ${R[ireg,rss]}" | bc -l)"
echo "(ratio > 1 means ireg is better; RSS is VmHWM over the whole run)"
