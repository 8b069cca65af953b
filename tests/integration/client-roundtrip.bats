#!/usr/bin/env bats
# ipush/ipull round trips against ireg and CNCF distribution: digests stay
# byte-identical, platforms are picked from indexes, skopeo and umoci agree.

bats_require_minimum_version 1.5.0
load client-helpers

setup() { client_setup; }
teardown() { client_teardown; }

roundtrip() { # REGISTRY
	local reg=$1 want got
	make_image "$TMP/lay" v1 1024
	want=$(digest_of "$TMP/lay" v1)
	run "$IPUSH" oci:"$TMP/lay":v1 "$reg/team/app:v1"
	assert_success
	assert_line --index 0 --regexp "Uploading blob sha256:"
	# stdout is exactly the pushed reference.
	run --separate-stderr "$IPUSH" -q oci:"$TMP/lay":v1 "$reg/team/app:v1"
	assert_success
	assert_output "$reg/team/app@$want"
	[ -z "$stderr" ]
	assert_equal "$(raw_digest "$reg/team/app:v1")" "$want"

	# Pull into the store: same digest, named by the reference.
	run --separate-stderr "$IPULL" "$reg/team/app:v1"
	assert_success
	assert_output "$reg/team/app@$want"
	run "$IBUILD_TOOLS/ocilayout" store-resolve "$IBUILD_STORE" "$reg/team/app:v1"
	assert_success
	assert_output --partial "$want"
	run "$IBUILD_TOOLS/ocilayout" validate --rehash "$IBUILD_STORE"
	assert_success
	no_partials "$IBUILD_STORE"
	# A second pull fetches nothing.
	run "$IPULL" "$reg/team/app:v1"
	assert_success
	assert_output --partial "already present"
	refute_output --partial "Copying blob"

	# Into an OCI layout; umoci unpacks it.
	run "$IPULL" -q --output oci:"$TMP/out":got "$reg/team/app:v1"
	assert_success
	assert_equal "$(digest_of "$TMP/out" got)" "$want"
	run umoci unpack --rootless --image "$TMP/out:got" "$TMP/bundle"
	assert_success
	assert_equal "$(cat "$TMP/bundle/rootfs/etc/hello")" v1

	# Push from the store to another repository of the same registry: the
	# store remembers where the image came from, so its blobs are mounted.
	assert_equal "$(jq -r '.manifests[0].annotations["io.ibuild.source.repository"]' "$IBUILD_STORE/index.json")" "$reg/team/app"
	run "$IPUSH" "$reg/team/app:v1" "$reg/other/copy:v1"
	assert_success
	assert_output --partial "Mounted blob"
	refute_output --partial "Uploading blob"
	assert_equal "$(raw_digest "$reg/other/copy:v1")" "$want"

	# By digest.
	run --separate-stderr "$IPULL" --output oci:"$TMP/bydigest" "$reg/team/app@$want"
	assert_success
	assert_output "$reg/team/app@$want"
	assert_equal "$(jq -r '.manifests[0].digest' "$TMP/bydigest/index.json")" "$want"

	# skopeo copies what ipush pushed; ipull pulls what skopeo pushed.
	run skopeo copy --src-tls-verify=false "docker://$reg/team/app:v1" "oci:$TMP/sk:v1"
	assert_success
	assert_equal "$(digest_of "$TMP/sk" v1)" "$want"
	make_image "$TMP/lay" v2 64
	want=$(digest_of "$TMP/lay" v2)
	run skopeo copy --dest-tls-verify=false "oci:$TMP/lay:v2" "docker://$reg/team/app:v2"
	assert_success
	run --separate-stderr "$IPULL" --output oci:"$TMP/out":v2 "$reg/team/app:v2"
	assert_success
	assert_equal "$(digest_of "$TMP/out" v2)" "$want"

	run --separate-stderr "$IPULL" --list-tags "$reg/team/app"
	assert_success
	assert_output "$(printf 'v1\nv2')"
}

@test "ipush/ipull round trip against ireg" {
	start_ireg
	roundtrip "$IREG"
	run grep -c 'audit=mount' "$TMP/ireg.log"
	refute_output 0
}

@test "ipush/ipull round trip against CNCF distribution" {
	start_dist
	roundtrip "$DIST"
}

@test "Docker schema 2 images are pushed as they are, never converted" {
	start_dist
	make_image "$TMP/lay" v1 16
	run skopeo copy --format v2s2 --dest-tls-verify=false "oci:$TMP/lay:v1" "docker://$DIST/dock/app:v1"
	assert_success
	want=$(raw_digest "$DIST/dock/app:v1")
	run "$IPULL" -q --output oci:"$TMP/out":d "$DIST/dock/app:v1"
	assert_success
	assert_equal "$(digest_of "$TMP/out" d)" "$want"
	assert_equal "$(jq -r .manifests[0].mediaType "$TMP/out/index.json")" application/vnd.docker.distribution.manifest.v2+json
	start_ireg
	run "$IPUSH" -q oci:"$TMP/out":d "$IREG/dock/app:v1"
	assert_success
	assert_equal "$(raw_digest "$IREG/dock/app:v1")" "$want"
	assert_equal "$(jq -r .mediaType "$TMP/raw.json")" application/vnd.docker.distribution.manifest.v2+json
	run curl -sI "http://$IREG/v2/dock/app/manifests/v1"
	assert_output --partial "application/vnd.docker.distribution.manifest.v2+json"
}

multiplatform() { # REGISTRY
	local reg=$1
	make_image "$TMP/lay" amd 16
	make_image "$TMP/lay" arm 16
	idx=$(make_index "$TMP/lay" multi amd arm)
	run "$IPUSH" -q oci:"$TMP/lay":multi "$reg/multi/app:1"
	assert_success
	assert_output "$reg/multi/app@$idx"
	assert_equal "$(raw_digest "$reg/multi/app:1")" "$idx"
	# The children went first, by digest.
	run skopeo inspect --tls-verify=false --raw "docker://$reg/multi/app@$(digest_of "$TMP/lay" arm)"
	assert_success

	# --platform picks one manifest.
	run --separate-stderr "$IPULL" --platform linux/arm64 --output oci:"$TMP/one":x "$reg/multi/app:1"
	assert_success
	assert_output "$reg/multi/app@$(digest_of "$TMP/lay" arm)"
	assert_equal "$(digest_of "$TMP/one" x)" "$(digest_of "$TMP/lay" arm)"
	assert_equal "$(jq -r '.manifests[0].platform.architecture' "$TMP/one/index.json")" arm64
	run "$IBUILD_TOOLS/ocilayout" validate --rehash "$TMP/one"
	assert_success
	# Only that platform's blobs came.
	amd_layer=$(jq -r '.layers[0].digest' "$TMP/lay/blobs/sha256/$(digest_of "$TMP/lay" amd | cut -d: -f2)")
	[ ! -e "$TMP/one/blobs/sha256/${amd_layer#sha256:}" ]
	run "$IPULL" --platform linux/amd64 --output oci:"$TMP/one":y "$reg/multi/app:1"
	assert_success
	[ -e "$TMP/one/blobs/sha256/${amd_layer#sha256:}" ]
	# An absent platform names what is on offer.
	run "$IPULL" --platform linux/s390x --output oci:"$TMP/none" "$reg/multi/app:1"
	assert_failure
	assert_output --partial "linux/s390x"
	assert_output --partial "linux/arm64"

	# all: the index and both children, pushed back byte for byte.
	run --separate-stderr "$IPULL" --platform all --output oci:"$TMP/all":m "$reg/multi/app:1"
	assert_success
	assert_output "$reg/multi/app@$idx"
	assert_equal "$(digest_of "$TMP/all" m)" "$idx"
	run "$IBUILD_TOOLS/ocilayout" validate --rehash "$TMP/all"
	assert_success
	run "$IPUSH" -q oci:"$TMP/all":m "$reg/multi/again:1"
	assert_success
	assert_equal "$(raw_digest "$reg/multi/again:1")" "$idx"
	# Pushing a single-platform pull of an index is refused clearly.
	run "$IPULL" -q --platform all "$reg/multi/app:1"
	assert_success
}

@test "multi-platform index with --platform and all (ireg)" {
	start_ireg
	multiplatform "$IREG"
}

@test "multi-platform index with --platform and all (distribution)" {
	start_dist
	multiplatform "$DIST"
}

@test "ipull --inspect summarises, --raw prints the bytes as served" {
	start_ireg
	make_image "$TMP/lay" v1 8
	want=$(digest_of "$TMP/lay" v1)
	run "$IPUSH" -q oci:"$TMP/lay":v1 "$IREG/team/app:v1"
	assert_success
	run "$IPULL" --inspect "$IREG/team/app:v1"
	assert_success
	assert_line "Digest:    $want"
	assert_line "MediaType: application/vnd.oci.image.manifest.v1+json"
	assert_line --partial "Platform:  linux/"
	assert_line "  IMAGE=v1"
	assert_line "Cmd:       /bin/sh"
	assert_line --regexp "^  sha256:[0-9a-f]{64} [0-9]+ application/vnd.oci.image.layer.v1.tar\+gzip$"
	"$IPULL" --inspect --raw "$IREG/team/app:v1" >"$TMP/raw"
	assert_equal "sha256:$(sha "$TMP/raw")" "$want"
	run "$IPULL" --inspect "$IREG/team/nothere:v1"
	assert_failure
	assert_output --partial "GET http://$IREG/v2/team/nothere/manifests/v1: HTTP 404"
	assert_output --partial "(MANIFEST_UNKNOWN)"
}

@test "oci:DIR sources and destinations copy locally" {
	make_image "$TMP/lay" v1 8
	want=$(digest_of "$TMP/lay" v1)
	run "$IPULL" -q oci:"$TMP/lay":v1
	assert_success
	run "$IBUILD_TOOLS/ocilayout" store-resolve "$IBUILD_STORE" v1
	assert_output --partial "$want"
	run "$IPUSH" -q v1 oci:"$TMP/copy":c
	assert_success
	assert_equal "$(digest_of "$TMP/copy" c)" "$want"
	run "$IBUILD_TOOLS/ocilayout" validate --rehash "$TMP/copy"
	assert_success
}

@test "usage errors and --help" {
	run "$IPULL" --help
	assert_success
	assert_output --partial "--list-tags"
	assert_output --partial "--cert-dir"
	run "$IPUSH" --help
	assert_success
	assert_output --partial "SRC DEST"
	run "$IPUSH" onlyone
	assert_failure 2
	run "$IPULL" --jobs 0 x
	assert_failure 2
	assert_output --partial "bad value '0' for --jobs"
	run "$IPULL" --platform nonsense/ x/y
	assert_failure
	run "$IPULL" "UPPER/Case:bad tag"
	assert_failure
	assert_output --partial "UPPER/Case:bad tag"
}
