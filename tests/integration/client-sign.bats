#!/usr/bin/env bats
# Signing keys (cosign's format): ipush --generate-key writes a P-256 pair
# that the openssl CLI reads, signs and verifies with.

bats_require_minimum_version 1.5.0
load client-helpers

setup() { client_setup; }
teardown() { client_teardown; }

@test "ipush --generate-key: a P-256 PKCS#8 pair openssl signs and verifies with; never overwritten" {
	run "$IPUSH" --generate-key "$TMP/ci"
	assert_success
	assert_output "$TMP/ci.key
$TMP/ci.pub"
	[ "$(stat -c %a "$TMP/ci.key")" = 600 ]
	head -1 "$TMP/ci.key" | grep -qx -- '-----BEGIN PRIVATE KEY-----'
	head -1 "$TMP/ci.pub" | grep -qx -- '-----BEGIN PUBLIC KEY-----'
	run openssl pkey -in "$TMP/ci.key" -noout -text
	assert_success
	assert_output --partial "NIST CURVE: P-256"
	printf 'payload %s' "$RANDOM" >"$TMP/p"
	openssl dgst -sha256 -sign "$TMP/ci.key" -out "$TMP/p.sig" "$TMP/p"
	run openssl dgst -sha256 -verify "$TMP/ci.pub" -signature "$TMP/p.sig" "$TMP/p"
	assert_success
	assert_output "Verified OK"
	# The public key is the private key's.
	[ "$(openssl pkey -in "$TMP/ci.key" -pubout)" = "$(cat "$TMP/ci.pub")" ]
	run "$IPUSH" --generate-key "$TMP/ci"
	assert_failure 1
	assert_output --partial "$TMP/ci.key: exists; not overwriting a key"
	run "$IPUSH" --generate-key
	assert_failure 2
	assert_output --partial "--generate-key needs one PREFIX"
}
