#!/usr/bin/env bats
# ibuild's caches: the content digest cache of COPY sources (a file changed
# in place with its size and mtime kept still misses the step cache), and
# no store rewrite when a rebuild changes nothing.

BUILD_MODE=root
load build-helpers

# Let every context file's ctime get older than the content cache's racy
# window (2 s), so the first build records their digests.
age_context() { sleep 3; }

@test "cache: content digests are recorded, and reused on a no-change rebuild" {
	mkdir -p "$T/ctx/src"
	for i in $(seq 50); do echo "file $i" >"$T/ctx/src/f$i"; done
	dockerfile <<'DF'
FROM testbase:1
COPY src /src
RUN cat /src/* | wc -l >/count
DF
	age_context
	rm -f "$IBUILD_STORE/cache/content-digests"
	run ib -q -t cc:1 "$T/ctx"
	assert_success
	first=$output
	[ -s "$IBUILD_STORE/cache/content-digests" ]
	before=$(stat -c %Y.%y "$IBUILD_STORE/cache/content-digests" "$IBUILD_STORE/index.json")
	sleep 1
	run ib -t cc:1 "$T/ctx"
	assert_success
	[ "$(grep -c CACHED <<<"$output")" = 2 ]
	assert_line "$first"
	# Nothing new to record, nothing to rename: neither file was rewritten.
	[ "$(stat -c %Y.%y "$IBUILD_STORE/cache/content-digests" "$IBUILD_STORE/index.json")" = "$before" ]
}

@test "cache: a source rewritten in place with the same size and mtime misses the cache" {
	mkdir -p "$T/ctx/src"
	echo "aaaa" >"$T/ctx/src/a"
	echo "keep" >"$T/ctx/src/b"
	dockerfile <<'DF'
FROM testbase:1
COPY src /src
RUN cat /src/a >/seen
DF
	age_context
	ib -q -t cc2:1 "$T/ctx" >/dev/null
	run ib -t cc2:1 "$T/ctx"
	assert_success
	[ "$(grep -c CACHED <<<"$output")" = 2 ]
	# Same size, same mtime (restored), same inode: only ctime and the
	# bytes differ.
	touch -r "$T/ctx/src/a" "$T/ref"
	printf 'bbbb\n' 1<>"$T/ctx/src/a"
	touch -m -r "$T/ref" "$T/ctx/src/a"
	run ib -t cc2:1 "$T/ctx"
	assert_success
	[ "$(grep -c CACHED <<<"$output")" = 0 ]
	unpack cc2:1
	[ "$(cat "$T/bundle/rootfs/seen")" = bbbb ]
}
