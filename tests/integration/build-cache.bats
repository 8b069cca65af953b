#!/usr/bin/env bats
# ibuild's caches: the content digest cache of COPY sources (a file changed
# in place with its size and mtime kept still misses the step cache), and
# no store rewrite when a rebuild changes nothing; ibuild prune and rmi.

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

# The layer digests of store image NAME, one a line.
layers_of() { skopeo inspect --raw "oci:$IBUILD_STORE:localhost/$1" | jq -r '.layers[].digest'; }
blob_exists() { [ -f "$IBUILD_STORE/blobs/sha256/${1#sha256:}" ]; }

@test "prune: entries of removed images go with their blobs and snapshots; named images keep theirs; rebuild works" {
	mkdir -p "$T/ctx/keep" "$T/ctx/drop"
	echo keep >"$T/ctx/keep/k"
	echo drop >"$T/ctx/drop/d"
	printf 'FROM testbase:1\nCOPY k /k\nRUN echo kept >/kept\n' >"$T/ctx/keep/Dockerfile"
	printf 'FROM testbase:1\nCOPY d /d\nRUN echo dropped >/dropped\n' >"$T/ctx/drop/Dockerfile"
	ib -q -t keep:1 "$T/ctx/keep" >/dev/null
	ib -q -t drop:1 "$T/ctx/drop" >/dev/null
	keep_layers=$(layers_of keep:1)
	drop_only=$(comm -13 <(layers_of keep:1 | sort) <(layers_of drop:1 | sort))
	[ "$(wc -l <<<"$drop_only")" = 2 ]
	drop_diff=$(skopeo inspect --config --raw "oci:$IBUILD_STORE:localhost/drop:1" | jq -r '.rootfs.diff_ids[-1]')
	[ -d "$IBUILD_STORE/snapshots/${drop_diff#sha256:}" ]
	entries_before=$(ls "$IBUILD_STORE/cache" | grep -c '^[0-9a-f]\{64\}$')

	run ib rmi drop:1
	assert_success
	assert_output "untagged drop:1"
	run ib rmi drop:1
	assert_failure

	run ib prune --grace 0
	assert_success
	assert_output --regexp '^removed [1-9][0-9]* build cache entries \([1-9][0-9]* kept\), [1-9][0-9]* blobs'
	for l in $keep_layers; do blob_exists "$l"; done
	for l in $drop_only; do ! blob_exists "$l"; done
	[ ! -d "$IBUILD_STORE/snapshots/${drop_diff#sha256:}" ]
	entries_after=$(ls "$IBUILD_STORE/cache" | grep -c '^[0-9a-f]\{64\}$')
	[ "$entries_after" -lt "$entries_before" ]

	# The kept image still rebuilds from the cache; the dropped one rebuilds.
	run ib -t keep:1 "$T/ctx/keep"
	assert_success
	[ "$(grep -c CACHED <<<"$output")" = 2 ]
	run ib -t drop:1 "$T/ctx/drop"
	assert_success
	[ "$(grep -c CACHED <<<"$output")" = 0 ]
	unpack drop:1
	[ "$(cat "$T/bundle/rootfs/dropped")" = dropped ]

	# --all: every entry goes; named images and their blobs stay.
	run ib prune --all --grace 0
	assert_success
	[ "$(ls "$IBUILD_STORE/cache" | grep -c '^[0-9a-f]\{64\}$')" = 0 ]
	for l in $(layers_of keep:1) $(layers_of testbase:1); do blob_exists "$l"; done
	run ib -t keep:1 "$T/ctx/keep"
	assert_success
	[ "$(grep -c CACHED <<<"$output")" = 0 ]
}

@test "prune: bad arguments are refused" {
	run ib prune --grace soon
	assert_failure
	assert_output --partial "--grace soon"
	run ib prune --bogus
	assert_failure
	assert_output --partial "--bogus"
	run ib rmi
	assert_failure
}
