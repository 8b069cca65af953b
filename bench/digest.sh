#!/usr/bin/env bash
# digest/ sha256 throughput vs `openssl speed -evp sha256` (16 KiB blocks), in one run.
# Both hash from memory on one core; repeats alternate to even out machine noise.
#   bench/digest.sh [MiB] [repeats]
set -euo pipefail
cd "$(dirname "$0")/.."
mib=${1:-1024}
reps=${2:-3}
make -s all >/dev/null
mkdir -p build/bench
cc -std=gnu11 -O2 -I. -o build/bench/digest-hash bench/digest-hash.c build/lib/libdigest.a build/lib/libcommon.a -lcrypto
ours=() theirs=()
for _ in $(seq "$reps"); do
	ours+=("$(build/bench/digest-hash "$mib")")
	# "sha256 ... 16384-byte-column" in 1000s of bytes/s; -bytes 1048576 matches our chunk.
	theirs+=("$(openssl speed -evp sha256 -seconds 2 -bytes 1048576 2>/dev/null | awk '/^sha256/ {v=$NF; sub(/k$/,"",v); print v/1000}')")
done
best() { printf '%s\n' "$@" | sort -g | tail -1; }
o=$(best "${ours[@]}")
t=$(best "${theirs[@]}")
printf '%-32s %10s MB/s\n' "digest/ sha256 (${mib} MiB)" "$o" "openssl speed -evp sha256" "$t"
awk -v o="$o" -v t="$t" 'BEGIN { printf "ratio ours/openssl: %.3f\n", o / t }'
