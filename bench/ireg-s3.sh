#!/usr/bin/env bash
# ireg's S3 driver vs raw S3 (curl --aws-sigv4) vs CNCF distribution's s3
# driver, all on one throwaway Ceph RGW (tests/integration/ceph-helpers.bash),
# side by side in one run, printing the median of REPEATS runs and ratios.
#   bench/ireg-s3.sh [BUILD_DIR]
# Env: SIZE_MB (default 128: the cluster keeps objects in RAM, 2 GiB in all),
# REPEATS (3), WRK_SECONDS (5).  Not a test: prints a table, exits 0 unless
# something fails to run.
set -euo pipefail
shopt -s inherit_errexit
cd "$(dirname "$0")/.."
build=${1:-build}
size_mb=${SIZE_MB:-128}
repeats=${REPEATS:-3}
wrk_s=${WRK_SECONDS:-5}
work=$(mktemp -d /tmp/ireg-s3-bench.XXXXXX)
pids=()
# shellcheck source=../tests/integration/ceph-helpers.bash
. tests/integration/ceph-helpers.bash
# shellcheck source=registry-lib.bash
. bench/registry-lib.bash
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
	ceph_stop 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

for t in curl wrk docker-registry jq python3 bc; do
	command -v "$t" >/dev/null || { echo "missing $t" >&2; exit 1; }
done
echo "starting Ceph" >&2
ceph_start 1 >&2
free_port() { ceph_free_port; }

iport=$(free_port)
jq -n --arg e "$S3_ENDPOINT" --arg b "$S3_BUCKET" --arg ak "$S3_ACCESS_KEY" --arg sk "$S3_SECRET_KEY" \
	'{storage:{s3:{endpoint:$e,bucket:$b,prefix:"ireg/",access_key:$ak,secret_key:$sk}}}' >"$work/ireg.json"
"$build/bin/ireg" serve --addr "127.0.0.1:$iport" --config "$work/ireg.json" --no-access-log 2>"$work/ireg.err" &
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
  s3:
    accesskey: $S3_ACCESS_KEY
    secretkey: $S3_SECRET_KEY
    region: $S3_REGION
    regionendpoint: $S3_ENDPOINT
    bucket: $S3_BUCKET
    rootdirectory: /dist
    secure: false
    v4auth: true
  delete:
    enabled: true
  redirect:
    disable: true
http:
  addr: 127.0.0.1:$dport
YML
# The AWS SDK refuses a custom CA bundle with its transport: none is needed on http.
env -u AWS_CA_BUNDLE docker-registry serve "$work/dist.yml" >"$work/dist.log" 2>&1 &
dpid=$!
pids+=("$dpid")
for u in "http://127.0.0.1:$iport" "http://127.0.0.1:$dport"; do
	for _ in $(seq 200); do curl -sf "$u/v2/" >/dev/null && break; sleep 0.05; done
	curl -sf "$u/v2/" >/dev/null || { echo "server $u did not start" >&2; cat "$work"/*.err "$work/dist.log" >&2; exit 1; }
done
declare -A URL=([ireg]="http://127.0.0.1:$iport" [dist]="http://127.0.0.1:$dport")

echo "generating ${size_mb} MiB of random data" >&2
head -c $((size_mb * 1024 * 1024)) /dev/urandom >"$work/big"
digest=sha256:$(sha256sum "$work/big" | cut -d' ' -f1)

sigv4=(--aws-sigv4 "aws:amz:$S3_REGION:s3" --user "$S3_ACCESS_KEY:$S3_SECRET_KEY")

mono_upload() { # SERVER REPO -> MB/s
	local t0 t1
	if [ "$1" != raw ]; then
		registry_mono_upload "$1" "$2"
		return
	fi
	t0=$(now)
	# (no empty "Expect:" here: curl would sign a header it then drops)
	curl -sf "${sigv4[@]}" -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' -T "$work/big" \
		-o /dev/null "$S3_ENDPOINT/$S3_BUCKET/raw/$2"
	t1=$(now)
	rate "$t0" "$t1"
}
download() { # SERVER REPO -> MB/s
	local t0 t1
	if [ "$1" != raw ]; then
		registry_download "$1" "$2"
		return
	fi
	t0=$(now)
	curl -sf "${sigv4[@]}" -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' -o /dev/null "$S3_ENDPOINT/$S3_BUCKET/raw/$2"
	t1=$(now)
	rate "$t0" "$t1"
}
manifest_rps() { # SERVER -> req/s
	wrk -t2 -c16 -d"${wrk_s}s" -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
		"${URL[$1]}/v2/bench/man/manifests/latest" | awk '/^Requests\/sec/ {print $2}'
}

declare -A R
for s in ireg dist; do push_manifest "$s"; done
for ((r = 1; r <= repeats; r++)); do
	echo "round $r/$repeats" >&2
	for s in ireg dist raw; do R[$s,mono]+="$(mono_upload "$s" "bench/mono$r") "; done
	for s in dist ireg; do R[$s,chunk]+="$(chunked_upload "$s" "bench/chunk$r") "; done
	for s in ireg dist raw; do R[$s,down]+="$(download "$s" "bench/mono$r") "; done
	for s in dist ireg; do R[$s,rps]+="$(manifest_rps "$s") "; done
done
R[ireg,rss]=$(rss "$ipid")
R[dist,rss]=$(rss "$dpid")

med() { echo "${R[$1,$2]:-}" | tr ' ' '\n' | { grep . || true; } | median; }
printf '\n%-32s %10s %10s %10s %9s %9s\n' "metric (median of $repeats)" ireg dist raw-s3 ireg/raw ireg/dist
row() { # LABEL KEY (higher is better)
	local a b c ar ad
	a=$(med ireg "$2")
	b=$(med dist "$2")
	c=$(med raw "$2")
	ad=$(echo "$a / $b" | bc -l)
	if [ -n "${R[raw,$2]:-}" ]; then
		ar=$(printf '%.2fx' "$(echo "$a / $c" | bc -l)")
		c=$(printf '%.1f' "$c")
	else
		ar=-
		c=-
	fi
	printf '%-32s %10.1f %10.1f %10s %9s %8.2fx\n' "$1" "$a" "$b" "$c" "$ar" "$ad"
}
row "${size_mb} MiB monolithic upload (MB/s)" mono
row "${size_mb} MiB chunked 16M (MB/s)" chunk
row "${size_mb} MiB download (MB/s)" down
row "manifest GET, wrk -c16 (req/s)" rps
printf '%-32s %10.1f %10.1f %10s %9s %8.2fx\n' "peak server RSS (MiB)" "${R[ireg,rss]}" "${R[dist,rss]}" - - \
	"$(echo "${R[dist,rss]} / ${R[ireg,rss]}" | bc -l)"
echo "(ratios > 1: ireg better; RSS is VmHWM over the run, its ratio dist/ireg)"
