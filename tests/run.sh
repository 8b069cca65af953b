#!/usr/bin/env bash
# Run the whole suite and end with "N passed, N failed".
#   tests/run.sh BUILD_DIR [FUZZ_BUILD_DIR]
# Unit tests (cmocka) and integration tests (bats) both report TAP; every
# "ok"/"not ok" line is one test.  A binary that dies without reporting a
# failure counts as one failure.  Fuzz harnesses each run briefly on their
# seed corpus; a crash is a failure.
#   TESTS=pattern   only unit/bats files whose name matches (grep -E)
set -uo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
fuzzbuild=${2:-}
filter=${TESTS:-.}
fuzz_seconds=${FUZZ_SECONDS:-5}
passed=0
failed=0
failures=()
log=$(mktemp -d /tmp/ibuild-tests.XXXXXX)
trap 'rm -rf "$log"' EXIT

count_tap() { # name file status [seconds]
	local name=$1 file=$2 status=$3 secs=${4:-} ok nok
	ok=$(grep -cE '^ok ' "$file")
	nok=$(grep -cE '^not ok ' "$file")
	if [ "$status" -ne 0 ] && [ "$nok" -eq 0 ]; then
		nok=1
		echo "not ok - $name exited with status $status" >>"$file"
	fi
	passed=$((passed + ok))
	failed=$((failed + nok))
	if [ "$nok" -gt 0 ]; then
		failures+=("$name")
		echo "--- $name: $nok failed${secs:+ (${secs}s)}"
		grep -E -A15 '^not ok ' "$file" | head -80
	else
		echo "--- $name: $ok passed${secs:+ (${secs}s)}"
	fi
}

export IBUILD_BUILD=$PWD/$build
export IBUILD_TOOLS=$IBUILD_BUILD/tools
export PATH=$IBUILD_BUILD/bin:$PATH

for t in "$build"/tests/*; do
	[ -x "$t" ] || continue
	name=unit/$(basename "$t")
	echo "$name" | grep -qE "$filter" || continue
	out=$log/$(basename "$t").tap
	start=$SECONDS
	CMOCKA_MESSAGE_OUTPUT=TAP timeout 600 "$t" >"$out" 2>&1
	count_tap "$name" "$out" $? $((SECONDS - start))
done

for b in tests/integration/*.bats; do
	[ -f "$b" ] || continue
	name=integration/$(basename "$b" .bats)
	echo "$name" | grep -qE "$filter" || continue
	out=$log/$(basename "$b").tap
	start=$SECONDS
	timeout 1200 bats --tap "$b" >"$out" 2>&1
	count_tap "$name" "$out" $? $((SECONDS - start))
done

if [ -n "$fuzzbuild" ] && [ "$filter" = . ]; then
	for f in "$fuzzbuild"/fuzz/fuzz_*; do
		[ -x "$f" ] || continue
		name=fuzz/$(basename "$f")
		corpus=$log/corpus-$(basename "$f")
		mkdir -p "$corpus"
		seeds=tests/fuzz/corpus/$(basename "$f" | sed 's/^fuzz_//')
		[ -d "$seeds" ] && cp -r "$seeds"/. "$corpus"/
		out=$log/$(basename "$f").log
		if timeout $((fuzz_seconds + 60)) "$f" -max_total_time="$fuzz_seconds" -rss_limit_mb=2048 \
			-artifact_prefix="$log/" "$corpus" >"$out" 2>&1; then
			echo "ok - $name" >"$out.tap"
			count_tap "$name" "$out.tap" 0
		else
			tail -30 "$out"
			echo "not ok - $name crashed" >"$out.tap"
			count_tap "$name" "$out.tap" 1
		fi
	done
fi

echo
[ ${#failures[@]} -gt 0 ] && echo "failing: ${failures[*]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
