#!/usr/bin/env bats
# ireg's "policies": signatures required to pull (checked with skopeo, which
# never sees the rule, and with ipull), immutable tags, and their audit lines.

bats_require_minimum_version 1.5.0
load client-helpers

setup() {
	client_setup
	"$IPUSH" -q --generate-key "$TMP/ci" >/dev/null
	"$IPUSH" -q --generate-key "$TMP/other" >/dev/null
	make_image "$TMP/lay" v1 16
	make_image "$TMP/lay" v2 16
	WANT=$(digest_of "$TMP/lay" v1)
	cat >"$TMP/ireg.json" <<-JSON
		{"policies": [
		  {"repos": "prod/**", "require_signature": ["$TMP/ci.pub"]},
		  {"repos": "release/*", "immutable_tags": true}
		]}
	JSON
}
teardown() { client_teardown; }

@test "policy: an unsigned image in prod/** is refused 403 DENIED; signed by the key it is served; artifacts stay pullable" {
	start_ireg --config "$TMP/ireg.json"
	"$IPUSH" -q oci:"$TMP/lay":v1 "$IREG/prod/app:v1" >/dev/null
	run curl -s -o "$TMP/body" -w '%{http_code}' -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
		"http://$IREG/v2/prod/app/manifests/v1"
	assert_output 403
	[ "$(jq -r '.errors[0].code' "$TMP/body")" = DENIED ]
	jq -r '.errors[0].message' "$TMP/body" | grep -q "has no signature.*$TMP/ci.pub"
	run skopeo inspect --tls-verify=false "docker://$IREG/prod/app:v1"
	assert_failure
	# Other repositories are not policed.
	"$IPUSH" -q oci:"$TMP/lay":v1 "$IREG/dev/app:v1" >/dev/null
	run skopeo inspect --tls-verify=false "docker://$IREG/dev/app:v1"
	assert_success
	# Signed by another key: still refused, saying why.
	"$IPUSH" -q --sign-key "$TMP/other.key" oci:"$TMP/lay":v1 "$IREG/prod/app:v1" >/dev/null
	run skopeo inspect --tls-verify=false "docker://$IREG/prod/app:v1"
	assert_failure
	assert_output --partial "does not verify"
	# Signed by the key: served (the new signature is seen at once).
	"$IPUSH" -q --sign-key "$TMP/ci.key" oci:"$TMP/lay":v1 "$IREG/prod/app:v1" >/dev/null
	run skopeo inspect --tls-verify=false "docker://$IREG/prod/app:v1"
	assert_success
	[ "$(jq -r .Digest <<<"$output")" = "$WANT" ]
	run "$IPULL" -q --verify-key "$TMP/ci.pub" --output oci:"$TMP/out":x "$IREG/prod/app:v1"
	assert_success
	# The signature manifest itself stays pullable.
	run skopeo inspect --raw --tls-verify=false "docker://$IREG/prod/app:sha256-${WANT#sha256:}.sig"
	assert_success
	# Audit lines: the signature pushes and the refusals.
	grep -q 'push-signature' "$TMP/ireg.log"
	grep -q 'policy-deny' "$TMP/ireg.log"
}

@test "policy: immutable tags never move and are not deleted; the same manifest again is fine" {
	start_ireg --config "$TMP/ireg.json"
	"$IPUSH" -q oci:"$TMP/lay":v1 "$IREG/release/app:1.0" >/dev/null
	run "$IPUSH" -q oci:"$TMP/lay":v1 "$IREG/release/app:1.0"
	assert_success
	run --separate-stderr "$IPUSH" oci:"$TMP/lay":v2 "$IREG/release/app:1.0"
	assert_failure
	[[ "$stderr" == *"immutable"* ]]
	# The raw answer: 403 DENIED with detail TAG_INVALID.
	skopeo inspect --raw --tls-verify=false "docker://$IREG/release/app:1.0" >"$TMP/m"
	"$IPUSH" -q oci:"$TMP/lay":v2 "$IREG/release/app:scratch" >/dev/null
	skopeo inspect --raw --tls-verify=false "docker://$IREG/release/app:scratch" >"$TMP/m2"
	run curl -s -o "$TMP/body" -w '%{http_code}' -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' \
		--data-binary @"$TMP/m2" "http://$IREG/v2/release/app/manifests/1.0"
	assert_output 403
	[ "$(jq -r '.errors[0].code' "$TMP/body")" = DENIED ]
	[ "$(jq -r '.errors[0].detail.reason' "$TMP/body")" = TAG_INVALID ]
	run skopeo inspect --tls-verify=false "docker://$IREG/release/app:1.0"
	[ "$(jq -r .Digest <<<"$output")" = "$WANT" ]
	run curl -s -o /dev/null -w '%{http_code}' -X DELETE "http://$IREG/v2/release/app/manifests/1.0"
	assert_output 403
	run curl -s -o /dev/null -w '%{http_code}' -X DELETE "http://$IREG/v2/release/app/manifests/$WANT"
	assert_output 403
	# Elsewhere tags move as usual.
	"$IPUSH" -q oci:"$TMP/lay":v1 "$IREG/dev/app:1.0" >/dev/null
	run "$IPUSH" -q oci:"$TMP/lay":v2 "$IREG/dev/app:1.0"
	assert_success
}

@test "policy: a bad rule or an unreadable key stops ireg serve at start, naming it" {
	printf '{"policies": [{"repos": "prod/**", "require_signature": ["%s/missing.pub"]}]}' "$TMP" >"$TMP/bad.json"
	run "$IREG_BIN" serve --addr 127.0.0.1:0 --root "$TMP/r" --config "$TMP/bad.json"
	assert_failure
	assert_output --partial "$TMP/missing.pub"
	printf '{"policies": [{"repos": "prod/**", "immutable": true}]}' >"$TMP/bad2.json"
	run "$IREG_BIN" serve --addr 127.0.0.1:0 --root "$TMP/r" --config "$TMP/bad2.json"
	assert_failure
	assert_output --partial "unknown key 'immutable'"
}

@test "policy: a signature pushed as an OCI 1.1 referrer counts too" {
	start_ireg --config "$TMP/ireg.json"
	run "$IPUSH" -q --sign-key "$TMP/ci.key" --sign-as referrer oci:"$TMP/lay":v1 "$IREG/prod/ref:v1"
	assert_success
	run skopeo inspect --tls-verify=false "docker://$IREG/prod/ref:v1"
	assert_success
	[ "$(jq -r .Digest <<<"$output")" = "$WANT" ]
}
