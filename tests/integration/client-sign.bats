#!/usr/bin/env bats
# Signing keys (cosign's format): ipush --generate-key writes a P-256 pair
# that the openssl CLI reads, signs and verifies with.

bats_require_minimum_version 1.5.0
load client-helpers

setup() {
	client_setup
	make_image "$TMP/lay" v1 16
	WANT=$(digest_of "$TMP/lay" v1)
}
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

# sig_layout DIR PAYLOAD_FILE SIG_B64: an OCI layout (tag "s") holding a
# cosign signature manifest, built with the CLI tools only.
sig_layout() {
	local dir=$1 payload=$2 sig=$3 pd cd md cfg man
	mkdir -p "$dir/blobs/sha256"
	echo '{"imageLayoutVersion":"1.0.0"}' >"$dir/oci-layout"
	pd=$(sha "$payload")
	cp "$payload" "$dir/blobs/sha256/$pd"
	cfg=$(jq -cn --arg d "sha256:$pd" '{architecture:"",os:"",rootfs:{type:"layers",diff_ids:[$d]},config:{}}')
	printf '%s' "$cfg" >"$dir/cfg"
	cd=$(sha "$dir/cfg")
	mv "$dir/cfg" "$dir/blobs/sha256/$cd"
	man=$(jq -cn --arg pd "sha256:$pd" --argjson ps "$(stat -c %s "$payload")" --arg cd "sha256:$cd" \
		--argjson cs "${#cfg}" --arg sig "$sig" \
		'{schemaVersion:2,mediaType:"application/vnd.oci.image.manifest.v1+json",
		  config:{mediaType:"application/vnd.oci.image.config.v1+json",digest:$cd,size:$cs},
		  layers:[{mediaType:"application/vnd.dev.cosign.simplesigning.v1+json",digest:$pd,size:$ps,
		           annotations:{"dev.cosignproject.cosign/signature":$sig}}]}')
	printf '%s' "$man" >"$dir/man"
	md=$(sha "$dir/man")
	mv "$dir/man" "$dir/blobs/sha256/$md"
	jq -cn --arg md "sha256:$md" --argjson ms "${#man}" \
		'{schemaVersion:2,manifests:[{mediaType:"application/vnd.oci.image.manifest.v1+json",digest:$md,size:$ms,
		  annotations:{"org.opencontainers.image.ref.name":"s"}}]}' >"$dir/index.json"
}

# payload REPO DIGEST: the simple-signing payload cosign writes.
payload() {
	printf '{"critical":{"identity":{"docker-reference":"%s"},"image":{"docker-manifest-digest":"%s"},"type":"cosign container image signature"},"optional":null}' "$1" "$2"
}

@test "ipush --sign-key: cosign's layout at sha256-<hex>.sig, verified by openssl; signatures accumulate" {
	start_ireg
	"$IPUSH" -q --generate-key "$TMP/a" >/dev/null
	"$IPUSH" -q --generate-key "$TMP/b" >/dev/null
	"$IPUSH" -q --generate-key "$TMP/other" >/dev/null
	run --separate-stderr "$IPUSH" --sign-key "$TMP/a.key" oci:"$TMP/lay":v1 "$IREG/team/app:v1"
	assert_success
	assert_output "$IREG/team/app@$WANT"
	[[ "$stderr" == *"Signed $WANT with $TMP/a.key"* ]]
	sigtag="sha256-${WANT#sha256:}.sig"
	run skopeo inspect --raw --tls-verify=false "docker://$IREG/team/app:$sigtag"
	assert_success
	man=$output
	[ "$(jq -r '.layers | length' <<<"$man")" = 1 ]
	[ "$(jq -r '.layers[0].mediaType' <<<"$man")" = application/vnd.dev.cosign.simplesigning.v1+json ]
	pd=$(jq -r '.layers[0].digest' <<<"$man")
	curl -sf "http://$IREG/v2/team/app/blobs/$pd" -o "$TMP/payload"
	# The payload is exactly the simple-signing JSON.
	[ "$(cat "$TMP/payload")" = "$(payload "$IREG/team/app" "$WANT")" ]
	jq -r '.layers[0].annotations["dev.cosignproject.cosign/signature"]' <<<"$man" | base64 -d >"$TMP/sig"
	run openssl dgst -sha256 -verify "$TMP/a.pub" -signature "$TMP/sig" "$TMP/payload"
	assert_success
	run openssl dgst -sha256 -verify "$TMP/other.pub" -signature "$TMP/sig" "$TMP/payload"
	assert_failure
	# A second key adds a signature; the same key again adds nothing.
	run "$IPUSH" -q --sign-key "$TMP/b.key" oci:"$TMP/lay":v1 "$IREG/team/app:v1"
	assert_success
	run "$IPUSH" -q --sign-key "$TMP/a.key" oci:"$TMP/lay":v1 "$IREG/team/app:v1"
	assert_success
	run skopeo inspect --raw --tls-verify=false "docker://$IREG/team/app:$sigtag"
	[ "$(jq -r '.layers | length' <<<"$output")" = 2 ]
	# A public key cannot sign: refused before anything is pushed.
	run "$IPUSH" -q --sign-key "$TMP/a.pub" oci:"$TMP/lay":v1 "$IREG/team/other:v1"
	assert_failure
	assert_output --partial "$TMP/a.pub"
	run skopeo inspect --tls-verify=false "docker://$IREG/team/other:v1"
	assert_failure
}

@test "ipull --verify-key: pulls only what a key signed; says which keys and why; writes nothing otherwise" {
	start_ireg
	"$IPUSH" -q --generate-key "$TMP/a" >/dev/null
	"$IPUSH" -q --generate-key "$TMP/other" >/dev/null
	"$IPUSH" -q oci:"$TMP/lay":v1 "$IREG/team/unsigned:v1" >/dev/null
	run --separate-stderr "$IPULL" --verify-key "$TMP/a.pub" "$IREG/team/unsigned:v1"
	assert_failure
	[[ "$stderr" == *"no signature found"*"keys tried: $TMP/a.pub"* ]]
	"$IPUSH" -q --sign-key "$TMP/a.key" oci:"$TMP/lay":v1 "$IREG/team/app:v1" >/dev/null
	run --separate-stderr "$IPULL" --verify-key "$TMP/other.pub" "$IREG/team/app:v1"
	assert_failure
	[[ "$stderr" == *"no valid signature by $TMP/other.pub"*"does not verify with key $TMP/other.pub"* ]]
	# Nothing of the refused image is in the store.
	[ ! -e "$IBUILD_STORE/index.json" ] || ! grep -q "${WANT#sha256:}" "$IBUILD_STORE/index.json"
	[ -z "$(ls "$IBUILD_STORE/blobs/sha256" 2>/dev/null)" ]
	run --separate-stderr "$IPULL" --verify-key "$TMP/other.pub" --verify-key "$TMP/a.pub" "$IREG/team/app:v1"
	assert_success
	assert_output "$IREG/team/app@$WANT"
	[[ "$stderr" == *"Verified signature of $WANT with $TMP/a.pub"* ]]
	run --separate-stderr "$IPULL" --verify-key "$TMP/a.pub" --output oci:"$TMP/out":x "$IREG/team/app:v1"
	assert_success
	run "$IBUILD_TOOLS/ocilayout" validate --rehash "$TMP/out"
	assert_success
	run "$IPULL" --verify-key "$TMP/missing.pub" "$IREG/team/app:v1"
	assert_failure
	assert_output --partial "$TMP/missing.pub"
}

@test "ipull --verify-key: a signature made with the openssl CLI verifies; tampered ones are refused, each saying why" {
	start_ireg
	openssl ecparam -name prime256v1 -genkey -noout -out "$TMP/ec.pem" 2>/dev/null
	openssl pkcs8 -topk8 -nocrypt -in "$TMP/ec.pem" -out "$TMP/k.key"
	openssl pkey -in "$TMP/k.key" -pubout -out "$TMP/k.pub"
	sigtag="sha256-${WANT#sha256:}.sig"
	sign_push() { # REPO PAYLOAD_FILE [SIG_OVERRIDE]
		local sig
		sig=$(openssl dgst -sha256 -sign "$TMP/k.key" "$2" | base64 -w0)
		rm -rf "$TMP/sl"
		sig_layout "$TMP/sl" "$2" "${3:-$sig}"
		"$IPUSH" -q oci:"$TMP/sl":s "$IREG/$1:$sigtag" >/dev/null
	}
	for repo in good baddigest badsig badident; do
		"$IPUSH" -q oci:"$TMP/lay":v1 "$IREG/team/$repo:v1" >/dev/null
	done
	payload "$IREG/team/good" "$WANT" >"$TMP/p-good"
	sign_push team/good "$TMP/p-good"
	run --separate-stderr "$IPULL" --verify-key "$TMP/k.pub" "$IREG/team/good:v1"
	assert_success
	assert_output "$IREG/team/good@$WANT"

	payload "$IREG/team/baddigest" "sha256:$(printf x | sha256sum | cut -d' ' -f1)" >"$TMP/p-dg"
	sign_push team/baddigest "$TMP/p-dg"
	run --separate-stderr "$IPULL" --verify-key "$TMP/k.pub" "$IREG/team/baddigest:v1"
	assert_failure
	[[ "$stderr" == *"wrong digest"* ]]

	payload "$IREG/team/badsig" "$WANT" >"$TMP/p-sig"
	other=$(printf 'other bytes' | openssl dgst -sha256 -sign "$TMP/k.key" | base64 -w0)
	sign_push team/badsig "$TMP/p-sig" "$other"
	run --separate-stderr "$IPULL" --verify-key "$TMP/k.pub" "$IREG/team/badsig:v1"
	assert_failure
	[[ "$stderr" == *"does not verify"* ]]
	sign_push team/badsig "$TMP/p-sig" "${other:0:20}"
	run --separate-stderr "$IPULL" --verify-key "$TMP/k.pub" "$IREG/team/badsig:v1"
	assert_failure
	[[ "$stderr" == *"not base64"* || "$stderr" == *"does not verify"* ]]

	payload "$IREG/team/elsewhere" "$WANT" >"$TMP/p-id"
	sign_push team/badident "$TMP/p-id"
	run --separate-stderr "$IPULL" --verify-key "$TMP/k.pub" "$IREG/team/badident:v1"
	assert_failure
	[[ "$stderr" == *"wrong identity"*"team/elsewhere"* ]]

	# A payload with an extra field in "critical" is refused even when signed.
	printf '{"critical":{"identity":{"docker-reference":"%s"},"image":{"docker-manifest-digest":"%s"},"type":"cosign container image signature","x":1},"optional":null}' \
		"$IREG/team/good" "$WANT" >"$TMP/p-extra"
	sign_push team/good "$TMP/p-extra"
	run --separate-stderr "$IPULL" --verify-key "$TMP/k.pub" "$IREG/team/good:v1"
	assert_failure
	[[ "$stderr" == *'unknown field "x"'* ]]
}
