#!/usr/bin/env bash
# ibuild vs buildah bud, both as root (buildah with --isolation chroot, the
# only isolation that works on this host, see PEERS.md), both exporting the
# result to an OCI layout (ibuild --output type=oci; buildah bud + buildah
# push oci:), work dirs in /dev/shm.  Each scenario runs REPEATS times,
# alternating the two tools; the best time of each is reported.
#
#   1. copy-20k   COPY 20,000 small files, then a RUN reads them all
#   2. big-run    a RUN writing a 512 MiB file (zeros; gzip'd layer)
#   3. multistage two independent build stages + a final COPY --from both
#   4. delete     a RUN deleting half of 10,000 base files
#   5. rebuild    scenario 1 again with nothing changed (cache)
#
# Usage: bench/ibuild-vs-buildah.sh [BUILD_DIR] (default build)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
IBUILD=$PWD/$build/bin/ibuild
REPEATS=${REPEATS:-2}
[ "$(id -u)" = 0 ] || { echo "run as root" >&2; exit 1; }
command -v buildah >/dev/null || { echo "buildah is not installed (apt-get install buildah)" >&2; exit 1; }

# lower case only: buildah reads "FROM oci:DIR" as a reference too
W=/dev/shm/ibuild-bench.$$
mkdir "$W"
cleanup() {
	buildah --root "$W/bh-root" --runroot "$W/bh-run" --storage-driver overlay rm -a >/dev/null 2>&1 || true
	# buildah's overlay driver leaves its own mounts under its root
	awk -v w="$W" 'index($5, w) == 1 {print $5}' /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l || true
	rm -rf "$W"
}
trap cleanup EXIT

# The base: busybox from Debian's busybox-static, as an OCI layout both read.
mkdir -p "$W/basectx"
cp /bin/busybox "$W/basectx/busybox"
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$W/basectx/passwd"
printf 'FROM scratch\nCOPY busybox /bin/busybox\nCOPY passwd /etc/passwd\nRUN ["/bin/busybox", "--install", "-s", "/bin"]\nRUN mkdir -p /many && cd /many && i=0; while [ $i -lt 10000 ]; do echo $i >f$i; i=$((i+1)); done\n' >"$W/basectx/Dockerfile"
IBUILD_STORE=$W/prep-store "$IBUILD" -q --output "type=oci,dest=$W/base" -t base:1 "$W/basectx" >/dev/null
BASE="oci:$W/base:1"

# Contexts
mkdir -p "$W/c1/files"
python3 - "$W/c1/files" <<'PY'
import os, sys
d = sys.argv[1]
for i in range(20000):
    sub = os.path.join(d, "d%02d" % (i % 50))
    os.makedirs(sub, exist_ok=True)
    with open(os.path.join(sub, "f%05d" % i), "w") as f:
        f.write("content %d\n" % i)
PY
printf 'FROM %s\nCOPY files /files\nRUN find /files -type f | xargs cat | wc -c >/total\n' "$BASE" >"$W/c1/Dockerfile"
mkdir -p "$W/c2"
printf 'FROM %s\nRUN dd if=/dev/zero of=/big bs=1M count=512 2>/dev/null\n' "$BASE" >"$W/c2/Dockerfile"
mkdir -p "$W/c3"
cat >"$W/c3/Dockerfile" <<DF
FROM $BASE AS a
RUN mkdir /out && i=0; while [ \$i -lt 2000 ]; do echo a\$i >/out/a\$i; i=\$((i+1)); done && tar -cf /a.tar /out
FROM $BASE AS b
RUN mkdir /out && i=0; while [ \$i -lt 2000 ]; do echo b\$i >/out/b\$i; i=\$((i+1)); done && tar -cf /b.tar /out
FROM $BASE
COPY --from=a /a.tar /a.tar
COPY --from=b /b.tar /b.tar
DF
mkdir -p "$W/c4"
printf 'FROM %s\nRUN cd /many && i=0; while [ $i -lt 5000 ]; do rm f$i; i=$((i+1)); done\n' "$BASE" >"$W/c4/Dockerfile"

now() { date +%s.%N; }

run_ibuild() { # CONTEXT OUT [--no-cache]
	local ctx=$1 out=$2
	shift 2
	rm -rf "$out"
	IBUILD_STORE=$W/ib-store "$IBUILD" -q "$@" --output "type=oci,dest=$out" -t bench:1 "$ctx" >/dev/null
}
run_buildah() { # CONTEXT OUT [--no-cache]
	local ctx=$1 out=$2
	shift 2
	rm -rf "$out"
	buildah --root "$W/bh-root" --runroot "$W/bh-run" --storage-driver overlay bud -q --isolation chroot \
		"$@" -t bench:1 "$ctx" >/dev/null
	buildah --root "$W/bh-root" --runroot "$W/bh-run" --storage-driver overlay push -q bench:1 "oci:$out:1" >/dev/null
}

# "WALL CPU" seconds of a command (CPU = user + system of it and the
# children it waited for: on a loaded machine wall time mostly measures the
# load, CPU time the work).
time_of() {
	local TIMEFORMAT='%R %U %S' t
	t=$({ time "$@" 2>>"$W/stderr.log" >/dev/null; } 2>&1) || return 1
	awk '{ printf "%.3f %.3f\n", $1, $2 + $3 }' <<<"$t"
}

declare -A IB BH IBC BHC
best() { # CURRENT NEW
	if [ -z "$1" ] || [ "$(echo "$2 < $1" | bc)" = 1 ]; then echo "$2"; else echo "$1"; fi
}

scenario() { # NAME CONTEXT [--no-cache]
	local name=$1 ctx=$2 r t
	shift 2
	for r in $(seq "$REPEATS"); do
		t=$(time_of run_ibuild "$ctx" "$W/out-ib" "$@") || { echo "ibuild failed in $name" >&2; exit 1; }
		IB[$name]=$(best "${IB[$name]:-}" "${t% *}")
		IBC[$name]=$(best "${IBC[$name]:-}" "${t#* }")
		t=$(time_of run_buildah "$ctx" "$W/out-bh" "$@") || { echo "buildah failed in $name" >&2; exit 1; }
		BH[$name]=$(best "${BH[$name]:-}" "${t% *}")
		BHC[$name]=$(best "${BHC[$name]:-}" "${t#* }")
	done
}

scenario copy-20k "$W/c1" --no-cache
scenario big-run "$W/c2" --no-cache
scenario multistage "$W/c3" --no-cache
scenario delete "$W/c4" --no-cache
# the cache: build once with it, then time unchanged rebuilds
run_ibuild "$W/c1" "$W/out-ib"
run_buildah "$W/c1" "$W/out-bh" --layers
for r in $(seq "$REPEATS"); do
	t=$(time_of run_ibuild "$W/c1" "$W/out-ib")
	IB[rebuild]=$(best "${IB[rebuild]:-}" "${t% *}")
	IBC[rebuild]=$(best "${IBC[rebuild]:-}" "${t#* }")
	t=$(time_of run_buildah "$W/c1" "$W/out-bh" --layers)
	BH[rebuild]=$(best "${BH[rebuild]:-}" "${t% *}")
	BHC[rebuild]=$(best "${BHC[rebuild]:-}" "${t#* }")
done

echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs"
printf '\n%-12s %10s %10s %8s %12s %12s\n' scenario "ibuild s" "buildah s" "ratio" "ibuild CPU s" "buildah CPU s"
for s in copy-20k big-run multistage delete rebuild; do
	printf '%-12s %10.2f %10.2f %7.2fx %12.2f %12.2f\n' "$s" "${IB[$s]}" "${BH[$s]}" \
		"$(echo "${BH[$s]} / ${IB[$s]}" | bc -l)" "${IBC[$s]}" "${BHC[$s]}"
done
echo "(ratio = buildah time / ibuild time; > 1 means ibuild is faster; both as root, export to OCI layout included;"
echo " CPU = user + system seconds of the tool and its children, best run)"
