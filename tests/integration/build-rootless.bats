#!/usr/bin/env bats
# ibuild as an unprivileged user with a subordinate id range (newuidmap):
# the base is built FROM scratch rootless in setup_file; RUN chown to other
# ids, whiteouts, multi-stage and the cache work the same as root.

BUILD_MODE=rootless
load build-helpers

@test "rootless build: base image and a RUN with several uids" {
	dockerfile <<'DF'
FROM testbase:1
RUN rm /data/keep/gone && mkdir /owned && echo o >/owned/f && chown -R 123:456 /owned && id -u >/whoami
USER app
RUN id -u >/tmp/app-id
DF
	run ib -t rl:1 "$T/ctx"
	assert_success
	unpack rl:1
	[ ! -e "$T/bundle/rootfs/data/keep/gone" ]
	[ "$(cat "$T/bundle/rootfs/whoami")" = 0 ]
	[ "$(cat "$T/bundle/rootfs/tmp/app-id")" = 1000 ]
	m=$(jq -r '.manifests[0].digest' "$T/lay/index.json" | cut -d: -f2)
	layer=$(jq -r '.layers[-2].digest' "$T/lay/blobs/sha256/$m" | cut -d: -f2)
	run tar -tzvf "$T/lay/blobs/sha256/$layer" --numeric-owner
	assert_output --regexp "123/456 .* owned/f"
	assert_output --partial "data/keep/.wh.gone"
	# layer files of the base are owned by image root (0), not by the user
	base=$(jq -r '.layers[0].digest' "$T/lay/blobs/sha256/$m" | cut -d: -f2)
	run tar -tzvf "$T/lay/blobs/sha256/$base" --numeric-owner
	assert_output --regexp "0/0 .* bin/busybox"
}

@test "rootless build: multi-stage COPY --from, cache hits on rebuild" {
	echo "$RANDOM$RANDOM" >"$T/ctx/f"
	own
	dockerfile <<'DF'
FROM testbase:1 AS a
COPY f /f
RUN cp /f /g && chown 1000:1000 /g
FROM testbase:1
COPY --from=a /g /g
DF
	run ib -t rl:2 "$T/ctx"
	assert_success
	d=${lines[-1]}
	run ib -t rl:2 "$T/ctx"
	assert_success
	[ "$(grep -c CACHED <<<"$output")" = 3 ]
	[ "${lines[-1]}" = "$d" ]
	unpack rl:2
	cmp "$T/ctx/f" "$T/bundle/rootfs/g"
}
