#!/usr/bin/env bats
# ibuild --push to ireg and to CNCF distribution, and FROM a registry image
# (pulled through the registry client); checked with skopeo.

load client-helpers

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
