#!/usr/bin/env bats
# ibuild --push to ireg and to CNCF distribution, and FROM a registry image
# (pulled through the registry client); checked with skopeo.

load client-helpers
bats_require_minimum_version 1.5.0

setup() {
	client_setup
	mkdir -p "$TMP/ctx"
	echo "payload $RANDOM" >"$TMP/ctx/f"
	printf 'FROM scratch\nCOPY f /f\nLABEL stage=base\nCMD ["/f"]\n' >"$TMP/ctx/Dockerfile"
}

teardown() { client_teardown; }

@test "build --push: ireg and distribution receive the image; FROM pulls it back" {
	start_ireg
	start_dist
	run ibuild -q -t "$IREG/test/app:1" -t "$DIST/test/app:1" --push "$TMP/ctx"
	assert_success
	digest=${lines[-1]}
	for r in "$IREG" "$DIST"; do
		run skopeo inspect --tls-verify=false "docker://$r/test/app:1"
		assert_success
		[ "$(jq -r .Digest <<<"$output")" = "$digest" ]
		[ "$(jq -r .Labels.stage <<<"$output")" = base ]
		run skopeo copy -q --src-tls-verify=false "docker://$r/test/app:1" "oci:$TMP/back-${r##*:}:1"
		assert_success
	done
	# a second build FROM the registry image, in a fresh store (so it must pull)
	mkdir -p "$TMP/ctx2"
	echo more >"$TMP/ctx2/g"
	printf 'FROM %s/test/app:1\nCOPY g /g\n' "$IREG" >"$TMP/ctx2/Dockerfile"
	run env IBUILD_STORE="$TMP/store2" ibuild -t child:1 "$TMP/ctx2"
	assert_success
	assert_output --partial "pulling $IREG/test/app:1"
	cfg=$(skopeo inspect --config --raw "oci:$TMP/store2:localhost/child:1")
	[ "$(jq '.rootfs.diff_ids | length' <<<"$cfg")" = 2 ]
	[ "$(jq -r '.config.Cmd[0]' <<<"$cfg")" = /f ]
	# --pull=never refuses a missing base
	run env IBUILD_STORE="$TMP/store3" ibuild --pull=never -q "$TMP/ctx2"
	assert_failure
	assert_output --partial "pull=never"
}

@test "build --push without -t is refused" {
	run ibuild --push "$TMP/ctx"
	assert_failure 2
	assert_output --partial "--push needs"
}

@test "build --output type=registry pushes to name= or to the -t names; what is missing is named" {
	start_ireg
	start_dist
	run --separate-stderr ibuild -q -o "type=registry,name=$DIST/test/reg:1" "$TMP/ctx"
	assert_success
	digest=${lines[-1]}
	run skopeo inspect --tls-verify=false "docker://$DIST/test/reg:1"
	assert_success
	[ "$(jq -r .Digest <<<"$output")" = "$digest" ]
	# Several names in one quoted field, as buildx takes them.
	run ibuild -q -o "type=image,\"name=$IREG/test/a:1,$DIST/test/b:1\",push=true" "$TMP/ctx"
	assert_success
	run skopeo inspect --tls-verify=false "docker://$IREG/test/a:1"
	assert_success
	run skopeo inspect --tls-verify=false "docker://$DIST/test/b:1"
	assert_success
	# No name=: the -t names.
	run ibuild -q -t "$IREG/test/fromtag:2" -o type=registry "$TMP/ctx"
	assert_success
	run skopeo inspect --tls-verify=false "docker://$IREG/test/fromtag:2"
	assert_success
	run ibuild -q -o type=registry "$TMP/ctx"
	assert_failure 2
	assert_output --partial "--output type=registry: needs name=REF (or a -t NAME) to push to"
}

podman_() { mkdir -p "$DOCKER_CONFIG"; [ -e "$DOCKER_CONFIG/config.json" ] || echo "{}" >"$DOCKER_CONFIG/config.json"; podman --root "$TMP/podman" --runroot "$TMP/podman-run" --storage-driver vfs "$@"; }

@test "build --format docker: Docker schema 2 media types; podman shows the HEALTHCHECK" {
	start_dist
	printf 'FROM scratch\nCOPY f /f\nHEALTHCHECK --interval=7s CMD ["/f"]\nONBUILD RUN true\nSHELL ["/f", "-c"]\n' \
		>"$TMP/ctx/Dockerfile"
	run ibuild -q --format docker -t "$DIST/test/hc:docker" --push "$TMP/ctx"
	assert_success
	run ibuild -q --format oci -t "$DIST/test/hc:oci" --push "$TMP/ctx"
	assert_success
	run skopeo inspect --raw --tls-verify=false "docker://$DIST/test/hc:docker"
	assert_success
	[ "$(jq -r .mediaType <<<"$output")" = application/vnd.docker.distribution.manifest.v2+json ]
	[ "$(jq -r .config.mediaType <<<"$output")" = application/vnd.docker.container.image.v1+json ]
	[ "$(jq -r '.layers[0].mediaType' <<<"$output")" = application/vnd.docker.image.rootfs.diff.tar.gzip ]
	[ "$(jq -r 'has("annotations")' <<<"$output")" = false ]
	run podman_ pull -q --tls-verify=false "docker://$DIST/test/hc:docker"
	assert_success
	run podman_ image inspect "$DIST/test/hc:docker"
	assert_success
	[ "$(jq -r '.[0].Healthcheck.Interval' <<<"$output")" = 7000000000 ]
	[ "$(jq -r '.[0].Healthcheck.Test | join(" ")' <<<"$output")" = "CMD /f" ]
	# The same config in OCI media types: podman drops the Docker-only fields.
	run podman_ pull -q --tls-verify=false "docker://$DIST/test/hc:oci"
	assert_success
	run podman_ image inspect "$DIST/test/hc:oci"
	assert_success
	[ "$(jq -r '.[0].Healthcheck' <<<"$output")" = null ]
	# Docker's format has no zstd layers.
	run ibuild -q --format docker --compression zstd "$TMP/ctx"
	assert_failure 2
	assert_output --partial "--format docker has no zstd layer type"
	run ibuild -q --format v3 "$TMP/ctx"
	assert_failure 2
	assert_output --partial "--format v3: use oci or docker"
}

@test "build --push and FROM a registry image: a credsStore helper that is not installed is a warning" {
	start_ireg
	mkdir -p "$DOCKER_CONFIG"
	printf '{"credsStore":"nothere"}' >"$DOCKER_CONFIG/config.json"
	run --separate-stderr ibuild -q -t "$IREG/test/warn:1" --push "$TMP/ctx"
	assert_success
	[[ "$stderr" == *"ibuild: warning: docker-credential-nothere not found on PATH"* ]]
	printf 'FROM %s/test/warn:1\nLABEL child=1\n' "$IREG" >"$TMP/ctx/Dockerfile"
	run --separate-stderr env IBUILD_STORE="$TMP/store2" ibuild -q "$TMP/ctx"
	assert_success
	[[ "$stderr" == *"warning: docker-credential-nothere not found on PATH"* ]]
}

@test "build --push --sign-key signs what it pushes; --pull-verify-key refuses an unsigned base, takes a signed one" {
	start_ireg
	"$BIN/ipush" -q --generate-key "$TMP/ci" >/dev/null
	"$BIN/ipush" -q --generate-key "$TMP/other" >/dev/null
	run --separate-stderr ibuild -q -t "$IREG/test/base:1" --push --sign-key "$TMP/ci.key" "$TMP/ctx"
	assert_success
	digest=${lines[-1]}
	run skopeo inspect --raw --tls-verify=false "docker://$IREG/test/base:sha256-${digest#sha256:}.sig"
	assert_success
	[ "$(jq -r '.layers[0].mediaType' <<<"$output")" = application/vnd.dev.cosign.simplesigning.v1+json ]
	# --sign-as referrer: an OCI 1.1 signature referrer instead of the tag.
	run --separate-stderr ibuild -q -t "$IREG/test/ref:1" --push --sign-key "$TMP/ci.key" --sign-as referrer "$TMP/ctx"
	assert_success
	run skopeo inspect --raw --tls-verify=false "docker://$IREG/test/ref:sha256-${digest#sha256:}.sig"
	assert_failure
	run curl -sf "http://$IREG/v2/test/ref/referrers/$digest"
	assert_success
	[ "$(jq -r '.manifests[0].artifactType' <<<"$output")" = application/vnd.dev.cosign.artifact.sig.v1+json ]
	run "$BIN/ipull" -q --verify-key "$TMP/ci.pub" --output oci:"$TMP/viaref":x "$IREG/test/ref:1"
	assert_success
	run ibuild -q --sign-as nowhere "$TMP/ctx"
	assert_failure 2
	assert_output --partial "--sign-as nowhere: use tag, referrer or both"
	ibuild -q -t "$IREG/test/unsigned:1" --push "$TMP/ctx" >/dev/null
	run ibuild -q --sign-key "$TMP/ci.key" "$TMP/ctx"
	assert_failure 2
	assert_output --partial "--sign-key signs what is pushed"

	mkdir -p "$TMP/child"
	printf 'FROM %s/test/unsigned:1\nLABEL child=1\n' "$IREG" >"$TMP/child/Dockerfile"
	run env IBUILD_STORE="$TMP/s2" ibuild -q --pull-verify-key "$TMP/ci.pub" "$TMP/child"
	assert_failure
	assert_output --partial "no signature found"
	# Nothing of the refused base was pulled.
	[ -z "$(ls "$TMP/s2/blobs/sha256" 2>/dev/null)" ]
	printf 'FROM %s/test/base:1\nLABEL child=1\n' "$IREG" >"$TMP/child/Dockerfile"
	run env IBUILD_STORE="$TMP/s2" ibuild -q --pull-verify-key "$TMP/other.pub" "$TMP/child"
	assert_failure
	assert_output --partial "does not verify with key $TMP/other.pub"
	run --separate-stderr env IBUILD_STORE="$TMP/s2" ibuild --pull-verify-key "$TMP/other.pub" --pull-verify-key "$TMP/ci.pub" "$TMP/child"
	assert_success
	[[ "$stderr" == *"verified signature of $IREG/test/base:1 ($digest) with $TMP/ci.pub"* ]]
	# A base built in the store is not a pull: no signature needed.
	run env IBUILD_STORE="$TMP/s2" ibuild -q -t local:1 "$TMP/ctx"
	assert_success
	printf 'FROM local:1\nLABEL child=2\n' >"$TMP/child/Dockerfile"
	run env IBUILD_STORE="$TMP/s2" ibuild -q --pull-verify-key "$TMP/ci.pub" "$TMP/child"
	assert_success
}
