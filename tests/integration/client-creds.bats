#!/usr/bin/env bats
# ipush/ipull credentials from $DOCKER_CONFIG/config.json the way Docker
# reads them: credHelpers[HOST] > credsStore > auths, through real helper
# programs on PATH (shell scripts speaking the docker-credential-helpers
# `get` protocol), and a credsStore helper that is not installed.

bats_require_minimum_version 1.5.0
load client-helpers

setup() {
	client_setup
	htpasswd -Bbn -C 5 alice wonderland >"$TMP/htpasswd"
	make_image "$TMP/lay" v1 16
	WANT=$(digest_of "$TMP/lay" v1)
	mkdir -p "$DOCKER_CONFIG" "$TMP/helpers"
	export PATH=$TMP/helpers:$PATH
}
teardown() { client_teardown; }

b64() { printf '%s' "$1" | base64 -w0; }

# fake_helper NAME USER SECRET: docker-credential-NAME answers `get` with
# USER/SECRET for any server (USER "-": "credentials not found"); it logs
# each server URL it read on stdin to $TMP/helpers/NAME.log.
fake_helper() {
	local name=$1 user=$2 secret=$3
	cat >"$TMP/helpers/docker-credential-$name" <<-SH
		#!/bin/sh
		[ "\$1" = get ] || exit 9
		server=\$(cat)
		printf '%s\n' "\$server" >>"$TMP/helpers/$name.log"
		if [ "$user" = - ]; then
			echo 'credentials not found in native keychain'
			exit 1
		fi
		printf '{"ServerURL":"%s","Username":"%s","Secret":"%s"}\n' "\$server" "$user" "$secret"
	SH
	chmod +x "$TMP/helpers/docker-credential-$name"
}

start_basic_ireg() {
	printf '{"auth":{"htpasswd":"%s"}}' "$TMP/htpasswd" >"$TMP/ireg.json"
	start_ireg --config "$TMP/ireg.json"
}

@test "credsStore naming a helper that is not installed: a warning, then anonymous" {
	start_ireg
	printf '{"credsStore":"nothere"}' >"$DOCKER_CONFIG/config.json"
	# A registry that needs no credentials: the push works, and says why
	# no credentials were used (with -q too).
	run --separate-stderr "$IPUSH" -q oci:"$TMP/lay":v1 "$IREG/team/app:v1"
	assert_success
	assert_output "$IREG/team/app@$WANT"
	assert_equal "$(grep -c 'ipush: warning: docker-credential-nothere not found on PATH' <<<"$stderr")" 1
	run --separate-stderr "$IPULL" -q --output oci:"$TMP/out":a "$IREG/team/app:v1"
	assert_success
	[[ "$stderr" == *"ipull: warning: docker-credential-nothere not found on PATH"* ]]
}

@test "credsStore helper not installed, registry needs auth: the 401 says no credentials were found and why" {
	printf '{"credsStore":"nothere"}' >"$DOCKER_CONFIG/config.json"
	start_basic_ireg
	run "$IPUSH" -q oci:"$TMP/lay":v1 "$IREG/team/app:v1"
	assert_failure
	assert_output --partial "HTTP 401"
	assert_output --partial "no credentials were found for $IREG"
	assert_output --partial "(warning: docker-credential-nothere not found on PATH"
	assert_output --partial "ipush: warning: docker-credential-nothere not found on PATH"
	# The same against distribution.
	cat >"$TMP/auth.yml" <<-YML
		auth:
		  htpasswd:
		    realm: test-realm
		    path: $TMP/htpasswd
	YML
	start_dist "$TMP/auth.yml"
	run "$IPUSH" -q oci:"$TMP/lay":v1 "$DIST/team/app:v1"
	assert_failure
	assert_output --partial "HTTP 401"
	assert_output --partial "no credentials were found for $DIST (warning: docker-credential-nothere not found on PATH"
	# As in Docker, the file's own auths entry still serves when the
	# store cannot run.
	printf '{"credsStore":"nothere","auths":{"%s":{"auth":"%s"}}}' "$DIST" "$(b64 alice:wonderland)" \
		>"$DOCKER_CONFIG/config.json"
	run --separate-stderr "$IPUSH" -q oci:"$TMP/lay":v1 "$DIST/team/app:v1"
	assert_success
	assert_output "$DIST/team/app@$WANT"
	[[ "$stderr" == *"docker-credential-nothere not found on PATH"* ]]
}

@test "credsStore wins over an inline auths entry; credHelpers[HOST] over credsStore (Docker's precedence)" {
	start_basic_ireg
	fake_helper test alice wonderland
	fake_helper wrong alice nope
	# The inline entry is wrong, the store is right: the store is asked.
	printf '{"auths":{"%s":{"auth":"%s"}},"credsStore":"test"}' "$IREG" "$(b64 alice:wrong)" \
		>"$DOCKER_CONFIG/config.json"
	run --separate-stderr "$IPUSH" -q oci:"$TMP/lay":v1 "$IREG/team/app:v1"
	assert_success
	assert_output "$IREG/team/app@$WANT"
	# The helper read the registry's host:port on stdin.
	assert_equal "$(sort -u "$TMP/helpers/test.log")" "$IREG"
	# credHelpers for this host beats credsStore.
	printf '{"credHelpers":{"%s":"test"},"credsStore":"wrong"}' "$IREG" >"$DOCKER_CONFIG/config.json"
	run --separate-stderr "$IPULL" -q --output oci:"$TMP/out":a "$IREG/team/app:v1"
	assert_success
	assert_equal "$(digest_of "$TMP/out" a)" "$WANT"
	[ ! -e "$TMP/helpers/wrong.log" ]
	printf '{"credHelpers":{"%s":"wrong"},"credsStore":"test"}' "$IREG" >"$DOCKER_CONFIG/config.json"
	run "$IPULL" -q --output oci:"$TMP/out":b "$IREG/team/app:v1"
	assert_failure
	assert_output --partial "HTTP 401"
}

@test "a credsStore without an entry for the host means no credentials, as in Docker (the inline entry is not a fallback)" {
	start_basic_ireg
	fake_helper empty - -
	printf '{"auths":{"%s":{"auth":"%s"}},"credsStore":"empty"}' "$IREG" "$(b64 alice:wonderland)" \
		>"$DOCKER_CONFIG/config.json"
	run "$IPUSH" -q oci:"$TMP/lay":v1 "$IREG/team/app:v1"
	assert_failure
	assert_output --partial "HTTP 401"
	assert_output --partial "no credentials were found for $IREG"
	refute_output --partial "warning"
	assert_equal "$(sort -u "$TMP/helpers/empty.log")" "$IREG"
	# Without the store the same inline entry works.
	printf '{"auths":{"%s":{"auth":"%s"}}}' "$IREG" "$(b64 alice:wonderland)" >"$DOCKER_CONFIG/config.json"
	run --separate-stderr "$IPUSH" -q oci:"$TMP/lay":v1 "$IREG/team/app:v1"
	assert_success
	assert_output "$IREG/team/app@$WANT"
}
