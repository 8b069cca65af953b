#!/usr/bin/env bats
# Interop of oci/layout and oci/store with independent OCI tools: an image
# written by our library (through the ocilayout test tool) is unpacked by
# umoci, validated by oci-image-tool, inspected and copied by skopeo; what
# skopeo writes is read back by our library; the local store is an OCI layout
# skopeo can write to and read from.  Our validator rejects broken layouts
# naming the blob.
load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'

OL() { "${IBUILD_TOOLS:-$IBUILD_BUILD/tools}/ocilayout" "$@"; }

# build_image DIR NAME: a two-layer image (tar+gzip made by GNU tar, plain tar)
build_image() {
	mkdir -p "$T/root1/etc" "$T/root1/bin" "$T/root2/srv"
	echo hello >"$T/root1/etc/greeting"
	printf '#!/bin/sh\necho hi\n' >"$T/root1/bin/hi"
	chmod 0755 "$T/root1/bin/hi"
	ln -s greeting "$T/root1/etc/link"
	echo second >"$T/root2/srv/data"
	tar --numeric-owner --owner=0 --group=0 -C "$T/root1" -cf - . | gzip -n >"$T/l1.tar.gz"
	tar --numeric-owner --owner=0 --group=0 -C "$T/root2" -cf "$T/l2.tar" .
	run OL build "$1" "$2" "$T/l1.tar.gz" "$T/l2.tar"
	assert_success
	MANIFEST=$output
	L1=sha256:$(sha256sum "$T/l1.tar.gz" | cut -d' ' -f1)
	L2=sha256:$(sha256sum "$T/l2.tar" | cut -d' ' -f1)
}

blob() { # DIR DIGEST -> path
	echo "$1/blobs/${2%%:*}/${2#*:}"
}

setup() {
	for t in umoci skopeo oci-image-tool jq; do
		command -v "$t" >/dev/null || fail "$t is required"
	done
	T=$(mktemp -d /tmp/ibuild-oci-interop.XXXXXX)
	export TMPDIR=$T
}

teardown() {
	chmod -R u+rwX "$T" 2>/dev/null || true
	rm -rf "$T"
}

@test "our layout: files per image-layout.md, valid for us and for oci-image-tool" {
	build_image "$T/lay" test
	run cat "$T/lay/oci-layout"
	assert_output '{"imageLayoutVersion":"1.0.0"}'
	run jq -r '.schemaVersion, .mediaType, .manifests[0].digest, .manifests[0].annotations["org.opencontainers.image.ref.name"]' "$T/lay/index.json"
	assert_output "$(printf '2\napplication/vnd.oci.image.index.v1+json\n%s\ntest' "$MANIFEST")"
	[ -f "$(blob "$T/lay" "$L1")" ]
	[ -f "$(blob "$T/lay" "$L2")" ]
	run OL validate --rehash "$T/lay"
	assert_success
	assert_output 'ok: 4 descriptors'
	run oci-image-tool validate --type image --ref name=test "$T/lay"
	assert_success
	assert_output --partial 'Validation succeeded'
}

@test "umoci unpack --rootless of our layout has the files of both layers" {
	build_image "$T/lay" test
	run umoci unpack --rootless --image "$T/lay:test" "$T/bundle"
	assert_success
	[ -f "$T/bundle/config.json" ]
	run cat "$T/bundle/rootfs/etc/greeting"
	assert_output hello
	run cat "$T/bundle/rootfs/srv/data"
	assert_output second
	[ -x "$T/bundle/rootfs/bin/hi" ]
	run readlink "$T/bundle/rootfs/etc/link"
	assert_output greeting
}

@test "layers written by oci/layer straight into a blob writer: umoci, oci-image-tool, skopeo agree" {
	mkdir -p "$T/src1/usr/bin" "$T/src2/etc"
	echo one >"$T/src1/usr/bin/tool"
	chmod 0755 "$T/src1/usr/bin/tool"
	echo two >"$T/src2/etc/conf"
	ln -s ../usr/bin/tool "$T/src2/etc/tool-link"
	run OL build "$T/lay" codec "$T/src1" "$T/src2"
	assert_success
	DIG=$output
	run OL validate --rehash "$T/lay"
	assert_success
	run oci-image-tool validate --type image --ref name=codec "$T/lay"
	assert_success
	run umoci unpack --rootless --image "$T/lay:codec" "$T/bundle"
	assert_success
	run cat "$T/bundle/rootfs/usr/bin/tool" "$T/bundle/rootfs/etc/conf"
	assert_output "$(printf 'one\ntwo')"
	run readlink "$T/bundle/rootfs/etc/tool-link"
	assert_output ../usr/bin/tool
	# diffIDs in the config are the sha256 of the uncompressed layers.
	run OL cat "$T/lay" "$DIG"
	echo "$output" >"$T/m.json"
	for i in 0 1; do
		layer=$(jq -r ".layers[$i].digest" "$T/m.json")
		want=sha256:$(zcat "$(blob "$T/lay" "$layer")" | sha256sum | cut -d' ' -f1)
		run OL cat "$T/lay" "$(jq -r .config.digest "$T/m.json")"
		[ "$(echo "$output" | jq -r ".rootfs.diff_ids[$i]")" = "$want" ]
	done
	# Rebuilding the same trees gives the same manifest (deterministic).
	run OL build "$T/lay-again" codec "$T/src1" "$T/src2"
	assert_output "$DIG"
	run skopeo inspect "oci:$T/lay:codec"
	assert_success
	[ "$(echo "$output" | jq -r .Digest)" = "$DIG" ]
}

@test "skopeo inspect shows our digest, layers and config" {
	build_image "$T/lay" test
	run skopeo inspect "oci:$T/lay:test"
	assert_success
	echo "$output" >"$T/inspect.json"
	run jq -r '.Digest, .Layers[0], .Layers[1], .Architecture, .Os, .Created' "$T/inspect.json"
	assert_output "$(printf '%s\n%s\n%s\namd64\nlinux\n2024-01-01T00:00:00Z' "$MANIFEST" "$L1" "$L2")"
	run skopeo inspect --raw "oci:$T/lay:test"
	assert_success
	[ "sha256:$(printf '%s' "$output" | sha256sum | cut -d' ' -f1)" = "$MANIFEST" ]
}

@test "skopeo copy to a new layout is read back by our library" {
	build_image "$T/lay" test
	run skopeo copy "oci:$T/lay:test" "oci:$T/lay2:x"
	assert_success
	run OL validate --rehash "$T/lay2"
	assert_success
	run OL find "$T/lay2" x
	assert_success
	COPIED=$output
	run OL list "$T/lay2"
	assert_output --regexp "^x $COPIED application/vnd.oci.image.manifest.v1\+json [0-9]+$"
	# The same layers, found through our walk: the gzip one byte for byte;
	# skopeo compresses the plain tar one, with the same tar inside.
	run OL walk "$T/lay2"
	assert_success
	assert_line --regexp "^layer $L1 x layers\[0\] of $COPIED$"
	assert_line --regexp "^layer sha256:[0-9a-f]{64} x layers\[1\] of $COPIED$"
	second=$(echo "$output" | grep ' layers\[1\] ' | cut -d' ' -f2)
	zcat -f "$(blob "$T/lay2" "$second")" | cmp - "$T/l2.tar"
	run OL cat "$T/lay2" "$COPIED"
	assert_success
	[ "$(echo "$output" | jq -r '.layers | length')" = 2 ]
	# A second copy into the same layout under another name, Docker v2s2 format.
	run skopeo copy --format v2s2 "oci:$T/lay:test" "oci:$T/lay2:docker"
	assert_success
	run OL list "$T/lay2"
	assert_line --partial "docker sha256:"
	assert_line --partial "application/vnd.docker.distribution.manifest.v2+json"
	run OL validate --rehash "$T/lay2"
	assert_success
	assert_output 'ok: 8 descriptors'
	# Retagging "x" with skopeo moves the name: one "x" left.
	run skopeo copy --format v2s2 "oci:$T/lay:test" "oci:$T/lay2:x"
	assert_success
	run OL list "$T/lay2"
	[ "$(echo "$output" | grep -c '^x ')" = 1 ]
}

@test "validate rejects a missing blob, a wrong size and a corrupt blob, naming it" {
	build_image "$T/lay" test
	cp -a "$T/lay" "$T/missing"
	rm "$(blob "$T/missing" "$L2")"
	run OL validate "$T/missing"
	assert_failure
	assert_output --partial "layer blob $L2 referenced by layers[1] of $MANIFEST (image \"test\"): missing"
	run oci-image-tool validate --type image --ref name=test "$T/missing"
	assert_failure

	cp -a "$T/lay" "$T/short"
	truncate -s 10 "$(blob "$T/short" "$L1")"
	run OL validate "$T/short"
	assert_failure
	assert_output --partial "layer blob $L1 referenced by layers[0] of $MANIFEST (image \"test\"): size is 10 bytes"

	cp -a "$T/lay" "$T/corrupt"
	f=$(blob "$T/corrupt" "$L2")
	size=$(stat -c %s "$f")
	printf 'X' | dd of="$f" bs=1 seek=$((size - 1)) conv=notrunc status=none
	run OL validate "$T/corrupt"
	assert_success # same size: only a re-hash notices
	run OL validate --rehash "$T/corrupt"
	assert_failure
	assert_output --partial "layer blob $L2 referenced by layers[1] of $MANIFEST (image \"test\"): corrupt"

	cp -a "$T/lay" "$T/badmanifest"
	f=$(blob "$T/badmanifest" "$MANIFEST")
	sed -i 's/"schemaVersion":2/"schemaVersion":3/' "$f"
	run OL validate "$T/badmanifest"
	assert_failure
	assert_output --partial "$MANIFEST"
	assert_output --partial "corrupt"
}

@test "the local store is an OCI layout skopeo and umoci use; names are normalised" {
	build_image "$T/lay" test
	run OL store-list "$T/store" # creates it
	assert_success
	assert_output ''
	run skopeo copy "oci:$T/lay:test" "oci:$T/store:localhost/app:1.0"
	assert_success
	run OL store-resolve "$T/store" app:1.0
	assert_success
	assert_output --regexp "^sha256:[0-9a-f]{64} localhost/app:1.0$"
	DIG=${output%% *}
	run OL store-resolve "$T/store" "${DIG:7:12}"
	assert_output "$DIG localhost/app:1.0"
	run OL store-list "$T/store"
	assert_output --regexp "^localhost/app:1.0 $DIG [0-9]+ 2024-01-01T00:00:00Z$"
	# Tag it under a second name with our library; skopeo and umoci read it.
	run OL store-tag "$T/store" other:2 "$DIG"
	assert_success
	run skopeo inspect "oci:$T/store:localhost/other:2"
	assert_success
	run umoci unpack --rootless --image "$T/store:localhost/other:2" "$T/bundle"
	assert_success
	run cat "$T/bundle/rootfs/etc/greeting"
	assert_output hello
	run OL validate --rehash "$T/store"
	assert_success
}

@test "store gc keeps tagged images and removes what nothing references" {
	build_image "$T/lay" test
	OL store-list "$T/store" >/dev/null
	skopeo copy "oci:$T/lay:test" "oci:$T/store:localhost/app:1"
	run OL store-gc "$T/store" --grace 0
	assert_success
	assert_output 'removed 0 bytes 0 temps 0'
	echo junk >"$T/store/blobs/sha256/$(echo junk | sha256sum | cut -d' ' -f1)"
	run OL store-gc "$T/store" # default grace: the fresh junk survives
	assert_output 'removed 0 bytes 0 temps 0'
	run OL store-gc "$T/store" --grace 0 --dry-run
	assert_line 'removed 1 bytes 5 temps 0'
	[ -n "$(ls "$T/store/blobs/sha256" | grep "$(echo junk | sha256sum | cut -c1-64)")" ]
	# Another tool drops the name.
	jq -c '.manifests = []' "$T/store/index.json" >"$T/ix"
	cp "$T/ix" "$T/store/index.json"
	run OL store-gc "$T/store" --grace 0
	assert_success
	assert_line --regexp '^removed 5 bytes [0-9]+ temps 0$'
	run ls "$T/store/blobs/sha256"
	assert_output ''
	run OL validate "$T/store"
	assert_success
}

@test "oci:DIR[:NAME] parsing" {
	run OL parse-ref oci:/some/dir:localhost/app:1.0
	assert_output '/some/dir localhost/app:1.0'
	run OL parse-ref oci:rel
	assert_output 'rel -'
	run OL parse-ref docker://x
	assert_failure
	assert_output --partial 'starts with "oci:"'
	run OL parse-ref 'oci:d:bad name'
	assert_failure
	assert_output --partial 'bad name'
}
