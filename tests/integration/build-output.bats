#!/usr/bin/env bats
# ibuild --output: several outputs in one build, and the names the archives
# load under in the real peers (podman load, containerd's ctr import).

load client-helpers
bats_require_minimum_version 1.5.0

setup() {
	client_setup
	mkdir -p "$TMP/ctx"
	echo "payload $RANDOM" >"$TMP/ctx/f"
	printf 'FROM scratch\nCOPY f /f\nCMD ["/f"]\n' >"$TMP/ctx/Dockerfile"
}

teardown() { client_teardown; }

podman_() { mkdir -p "$DOCKER_CONFIG"; [ -e "$DOCKER_CONFIG/config.json" ] || echo "{}" >"$DOCKER_CONFIG/config.json"; podman --root "$TMP/podman" --runroot "$TMP/podman-run" --storage-driver vfs "$@"; }

@test "output: every --output is written, not only the last" {
	run --separate-stderr ibuild -q -t app:1 -o "type=oci,dest=$TMP/dir" \
		--output "type=oci-archive,dest=$TMP/oci.tar" -o "type=docker-archive,dest=$TMP/docker.tar" "$TMP/ctx"
	assert_success
	digest=${lines[-1]}
	run skopeo inspect "oci:$TMP/dir:1"
	assert_success
	[ "$(jq -r .Digest <<<"$output")" = "$digest" ]
	run skopeo inspect "oci-archive:$TMP/oci.tar:app:1"
	assert_success
	[ "$(jq -r .Digest <<<"$output")" = "$digest" ]
	run skopeo inspect --config "docker-archive:$TMP/docker.tar"
	assert_success
	[ "$(jq -r '.config.Cmd[0]' <<<"$output")" = /f ]
	# A bad one among them fails before anything is built or written.
	run ibuild -q -t app:2 -o "type=oci,dest=$TMP/dir2" -o "type=oci-archive" "$TMP/ctx"
	assert_failure 2
	assert_output --partial "--output type=oci-archive: type=oci-archive needs dest=FILE"
	[ ! -e "$TMP/dir2" ]
}

@test "output: archives load under the built name in podman and containerd" {
	run ibuild -q -t app:1 -o "type=oci-archive,dest=$TMP/oci.tar" -o "type=docker-archive,dest=$TMP/docker.tar" \
		-o "type=oci-archive,dest=$TMP/named.tar,name=team/other:7" "$TMP/ctx"
	assert_success
	run podman_ load -i "$TMP/oci.tar"
	assert_success
	assert_output --partial "Loaded image: localhost/app:1"
	run podman_ load -i "$TMP/docker.tar"
	assert_success
	assert_output --partial "Loaded image: localhost/app:1"
	run podman_ load -i "$TMP/named.tar"
	assert_success
	assert_output --partial "Loaded image: localhost/team/other:7"
	# docker save's format: RepoTags, and no OCI index that would win over it.
	[ "$(tar -xOf "$TMP/docker.tar" manifest.json | jq -r '.[0].RepoTags[0]')" = app:1 ]
	! tar -tf "$TMP/docker.tar" | grep -qx 'index.json'

	mkdir -p "$TMP/ctrd"
	cat >"$TMP/ctrd/config.toml" <<-EOF2
		version = 2
		root = "$TMP/ctrd/root"
		state = "$TMP/ctrd/state"
		disabled_plugins = ["io.containerd.grpc.v1.cri"]
		[grpc]
		  address = "$TMP/ctrd/sock"
		[ttrpc]
		  address = "$TMP/ctrd/sock.ttrpc"
		[debug]
		  address = "$TMP/ctrd/debug.sock"
	EOF2
	containerd --config "$TMP/ctrd/config.toml" >"$TMP/ctrd/log" 2>&1 &
	PIDS+=($!)
	for _ in $(seq 100); do
		ctr --address "$TMP/ctrd/sock" version >/dev/null 2>&1 && break
		sleep 0.1
	done
	run ctr --address "$TMP/ctrd/sock" images import "$TMP/oci.tar"
	assert_success
	run ctr --address "$TMP/ctrd/sock" images import "$TMP/docker.tar"
	assert_success
	run ctr --address "$TMP/ctrd/sock" images ls -q
	assert_success
	assert_line app:1
	assert_line docker.io/library/app:1
	refute_output --partial import-
}
