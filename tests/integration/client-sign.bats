#!/usr/bin/env bats
# Signing keys (cosign's format): ipush --generate-key writes a P-256 pair
# that the openssl CLI reads, signs and verifies with.

bats_require_minimum_version 1.5.0
load client-helpers

setup() {
	client_setup
	# Set per test: a password in the caller's environment must not leak in.
	unset COSIGN_PASSWORD
	ENCKEY=$BATS_TEST_DIRNAME/cosign-enckey.py
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

# sig_layout DIR PAYLOAD_FILE SIG_B64 [N]: an OCI layout (tag "s") holding a
# cosign signature manifest (of N layers, all that signature; default 1),
# built with the CLI tools only.
sig_layout() {
	local dir=$1 payload=$2 sig=$3 n=${4:-1} pd cd md cfg man
	mkdir -p "$dir/blobs/sha256"
	echo '{"imageLayoutVersion":"1.0.0"}' >"$dir/oci-layout"
	pd=$(sha "$payload")
	cp "$payload" "$dir/blobs/sha256/$pd"
	cfg=$(jq -cn --arg d "sha256:$pd" '{architecture:"",os:"",rootfs:{type:"layers",diff_ids:[$d]},config:{}}')
	printf '%s' "$cfg" >"$dir/cfg"
	cd=$(sha "$dir/cfg")
	mv "$dir/cfg" "$dir/blobs/sha256/$cd"
	man=$(jq -cn --arg pd "sha256:$pd" --argjson ps "$(stat -c %s "$payload")" --arg cd "sha256:$cd" \
		--argjson cs "${#cfg}" --arg sig "$sig" --argjson n "$n" \
		'{schemaVersion:2,mediaType:"application/vnd.oci.image.manifest.v1+json",
		  config:{mediaType:"application/vnd.oci.image.config.v1+json",digest:$cd,size:$cs},
		  layers:[range($n) | {mediaType:"application/vnd.dev.cosign.simplesigning.v1+json",digest:$pd,size:$ps,
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
	# Truncated mid-group: not base64 at all.
	sign_push team/badsig "$TMP/p-sig" "${other:0:21}"
	run --separate-stderr "$IPULL" --verify-key "$TMP/k.pub" "$IREG/team/badsig:v1"
	assert_failure
	[[ "$stderr" == *"signature 1: the signature is not base64"* ]]

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

# sig_fetch REPO: the payload and the (decoded) signature of the first
# signature of REPO:v1 (digest $WANT) into $TMP/got.payload, $TMP/got.sig.
sig_fetch() {
	local man pd
	man=$(skopeo inspect --raw --tls-verify=false "docker://$IREG/$1:sha256-${WANT#sha256:}.sig")
	pd=$(jq -r '.layers[0].digest' <<<"$man")
	curl -sf "http://$IREG/v2/$1/blobs/$pd" -o "$TMP/got.payload"
	jq -r '.layers[0].annotations["dev.cosignproject.cosign/signature"]' <<<"$man" | base64 -d >"$TMP/got.sig"
}

@test "encrypted keys: one sealed by an independent implementation (python hashlib scrypt + libsodium) signs through ipush; openssl verifies" {
	start_ireg
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$TMP/ec.pem" 2>/dev/null
	openssl pkcs8 -topk8 -nocrypt -in "$TMP/ec.pem" -outform DER -out "$TMP/k.der"
	openssl pkey -in "$TMP/ec.pem" -pubout -out "$TMP/k.pub"
	COSIGN_PASSWORD='correct horse' python3 "$ENCKEY" seal "$TMP/k.der" >"$TMP/k.key"
	head -1 "$TMP/k.key" | grep -qx -- '-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----'
	# No password, a wrong one: refused before anything is pushed.
	run "$IPUSH" -q --sign-key "$TMP/k.key" oci:"$TMP/lay":v1 "$IREG/team/app:v1"
	assert_failure 1
	assert_output --partial "key $TMP/k.key: an encrypted cosign key: set COSIGN_PASSWORD to its password"
	run env COSIGN_PASSWORD='correct horsE' "$IPUSH" -q --sign-key "$TMP/k.key" oci:"$TMP/lay":v1 "$IREG/team/app:v1"
	assert_failure 1
	assert_output --partial "key $TMP/k.key: cannot decrypt it with the password in COSIGN_PASSWORD (a wrong password"
	run skopeo inspect --tls-verify=false "docker://$IREG/team/app:v1"
	assert_failure
	run --separate-stderr env COSIGN_PASSWORD='correct horse' "$IPUSH" --sign-key "$TMP/k.key" \
		oci:"$TMP/lay":v1 "$IREG/team/app:v1"
	assert_success
	[[ "$stderr" == *"Signed $WANT with $TMP/k.key"* ]]
	sig_fetch team/app
	[ "$(cat "$TMP/got.payload")" = "$(payload "$IREG/team/app" "$WANT")" ]
	run openssl dgst -sha256 -verify "$TMP/k.pub" -signature "$TMP/got.sig" "$TMP/got.payload"
	assert_success
	assert_output "Verified OK"
	run "$IPULL" -q --verify-key "$TMP/k.pub" "$IREG/team/app:v1"
	assert_success

	# cosign's older PEM type, and an empty password (cosign allows it).
	COSIGN_PASSWORD= python3 "$ENCKEY" seal "$TMP/k.der" "ENCRYPTED COSIGN PRIVATE KEY" >"$TMP/old.key"
	head -1 "$TMP/old.key" | grep -qx -- '-----BEGIN ENCRYPTED COSIGN PRIVATE KEY-----'
	run env COSIGN_PASSWORD= "$IPUSH" -q --sign-key "$TMP/old.key" oci:"$TMP/lay":v1 "$IREG/team/old:v1"
	assert_success
	sig_fetch team/old
	run openssl dgst -sha256 -verify "$TMP/k.pub" -signature "$TMP/got.sig" "$TMP/got.payload"
	assert_success
}

@test "ipush --generate-key with COSIGN_PASSWORD: cosign's encrypted format, opened by an independent implementation and used by openssl" {
	run env COSIGN_PASSWORD='pa ss' "$IPUSH" --generate-key "$TMP/ci"
	assert_success
	assert_output "$TMP/ci.key
$TMP/ci.pub"
	[ "$(stat -c %a "$TMP/ci.key")" = 600 ]
	head -1 "$TMP/ci.key" | grep -qx -- '-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----'
	tail -1 "$TMP/ci.key" | grep -qx -- '-----END ENCRYPTED SIGSTORE PRIVATE KEY-----'
	head -1 "$TMP/ci.pub" | grep -qx -- '-----BEGIN PUBLIC KEY-----'
	# The body, field by field, as go-securesystemslib writes it.
	sed '1d;$d' "$TMP/ci.key" | base64 -d >"$TMP/ci.json"
	[ "$(jq -r 'keys_unsorted | join(",")' "$TMP/ci.json")" = kdf,cipher,ciphertext ]
	[ "$(jq -c .kdf.params "$TMP/ci.json")" = '{"N":32768,"r":8,"p":1}' ]
	[ "$(jq -r '.kdf.name + " " + .cipher.name' "$TMP/ci.json")" = "scrypt nacl/secretbox" ]
	[ "$(jq -r .kdf.salt "$TMP/ci.json" | base64 -d | wc -c)" = 32 ]
	[ "$(jq -r .cipher.nonce "$TMP/ci.json" | base64 -d | wc -c)" = 24 ]
	run env COSIGN_PASSWORD='pa sx' python3 "$ENCKEY" open "$TMP/ci.key"
	assert_failure
	assert_output --partial "does not open"
	COSIGN_PASSWORD='pa ss' python3 "$ENCKEY" open "$TMP/ci.key" >"$TMP/ci.der"
	run openssl pkey -inform DER -in "$TMP/ci.der" -noout -text
	assert_success
	assert_output --partial "NIST CURVE: P-256"
	[ "$(openssl pkey -inform DER -in "$TMP/ci.der" -pubout)" = "$(cat "$TMP/ci.pub")" ]
	printf 'payload %s' "$RANDOM" >"$TMP/p"
	openssl dgst -sha256 -sign "$TMP/ci.der" -keyform DER -out "$TMP/p.sig" "$TMP/p"
	run openssl dgst -sha256 -verify "$TMP/ci.pub" -signature "$TMP/p.sig" "$TMP/p"
	assert_output "Verified OK"
	# Our own reader opens it too: ipush signs, ipull verifies.
	start_ireg
	run env COSIGN_PASSWORD='pa ss' "$IPUSH" -q --sign-key "$TMP/ci.key" oci:"$TMP/lay":v1 "$IREG/team/app:v1"
	assert_success
	run "$IPULL" -q --verify-key "$TMP/ci.pub" "$IREG/team/app:v1"
	assert_success
	# An empty password still encrypts.
	run env COSIGN_PASSWORD= "$IPUSH" --generate-key "$TMP/e"
	assert_success
	head -1 "$TMP/e.key" | grep -qx -- '-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----'
	COSIGN_PASSWORD= python3 "$ENCKEY" open "$TMP/e.key" >"$TMP/e.der"
	[ "$(openssl pkey -inform DER -in "$TMP/e.der" -pubout)" = "$(cat "$TMP/e.pub")" ]
}

# rewrap KEY JQ_FILTER OUT: KEY's JSON body changed by JQ_FILTER, armoured again.
rewrap() {
	{
		echo '-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----'
		sed '1d;$d' "$1" | base64 -d | jq -c "$2" | base64 -w64
		echo '-----END ENCRYPTED SIGSTORE PRIVATE KEY-----'
	} >"$3"
}

@test "bad keys: corrupt, unknown-format, absurd-cost, truncated, tampered, wrong-curve and RSA keys are refused by ipush, each naming the file" {
	export COSIGN_PASSWORD=pw
	"$IPUSH" --generate-key "$TMP/g" >/dev/null
	try() { # KEY NEEDLE: ipush --sign-key KEY fails saying NEEDLE, naming KEY
		run "$IPUSH" -q --sign-key "$1" oci:"$TMP/lay":v1 "127.0.0.1:1/team/app:v1"
		assert_failure 1
		assert_output --partial "ipush: error: key $1: "
		assert_output --partial "$2"
	}
	n=0
	while IFS='@' read -r filter needle; do
		n=$((n + 1))
		rewrap "$TMP/g.key" "$filter" "$TMP/bad$n.key"
		try "$TMP/bad$n.key" "$needle"
	done <<-'CASES'
		.kdf.name = "argon2id"@unsupported kdf "argon2id" (cosign's keys use "scrypt")
		.cipher.name = "aes-256-gcm"@unsupported cipher "aes-256-gcm"
		. + {version: 2}@unknown field "version"
		del(.ciphertext)@ciphertext is missing
		.kdf.params.N = 1073741824@scrypt N=1073741824 is above the cap of 1048576
		.kdf.params.N = 1000@scrypt N=1000 is not a power of two
		.kdf.params.r = 64 | .kdf.params.p = 64@r*p is above the cap of 64
		.kdf.params.N = 1048576@needs 1024 MiB (at most 256)
		.kdf.params.N = "32768"@kdf.params.N is not a positive integer
		.kdf.salt = "c2FsdA"@kdf.salt is not base64
		.cipher.nonce = "AAAA"@cipher.nonce is 3 bytes, not 24
		.ciphertext |= .[0:20]@ciphertext is 15 bytes
		.ciphertext |= .[0:-1]@ciphertext is not base64
		.ciphertext |= .[0:-4]@cannot decrypt it with the password in COSIGN_PASSWORD
		.ciphertext |= (if .[0:1] == "A" then "B" else "A" end) + .[1:]@cannot decrypt it
	CASES
	# Not JSON inside, broken armour.
	printf -- '-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n%s\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n' \
		"$(printf '{"kdf":' | base64)" >"$TMP/notjson.key"
	try "$TMP/notjson.key" "the encrypted key is not valid JSON"
	sed '2s/^..../*!*!/' "$TMP/g.key" >"$TMP/armour.key"
	try "$TMP/armour.key" "a broken ENCRYPTED SIGSTORE PRIVATE KEY PEM block"
	# A good key of the wrong curve, an RSA key: encrypted by the
	# independent script and plain, each refused for what it is.
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out "$TMP/p384.pem" 2>/dev/null
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$TMP/rsa.pem" 2>/dev/null
	for k in p384 rsa; do
		openssl pkcs8 -topk8 -nocrypt -in "$TMP/$k.pem" -outform DER -out "$TMP/$k.der"
		python3 "$ENCKEY" seal "$TMP/$k.der" >"$TMP/$k.key"
		openssl pkey -in "$TMP/$k.pem" -pubout -out "$TMP/$k.pub"
	done
	try "$TMP/p384.key" "a secp384r1 key; signatures use ECDSA P-256 keys only"
	try "$TMP/p384.pem" "a secp384r1 key; signatures use ECDSA P-256 keys only"
	try "$TMP/rsa.key" "a RSA key; signatures use ECDSA P-256 keys only"
	try "$TMP/rsa.pem" "a RSA key; signatures use ECDSA P-256 keys only"
	for k in p384 rsa; do
		run "$IPULL" -q --verify-key "$TMP/$k.pub" "127.0.0.1:1/team/app:v1"
		assert_failure 1
		assert_output --partial "key $TMP/$k.pub: a "
		assert_output --partial "signatures use ECDSA P-256 keys only"
	done
	# An encrypted private key where a public key is wanted.
	run "$IPULL" -q --verify-key "$TMP/g.key" "127.0.0.1:1/team/app:v1"
	assert_failure 1
	assert_output --partial "key $TMP/g.key: a cosign encrypted private key, not a public key"
	# The key every bad one was made from is good: the failures were the edits'.
	python3 "$ENCKEY" open "$TMP/g.key" >/dev/null
}

@test "signature manifests of 1,000 layers are refused unread by ipull --verify-key and ipush --sign-key" {
	start_ireg
	openssl ecparam -name prime256v1 -genkey -noout -out "$TMP/ec.pem" 2>/dev/null
	openssl pkcs8 -topk8 -nocrypt -in "$TMP/ec.pem" -out "$TMP/k.key"
	openssl pkey -in "$TMP/k.key" -pubout -out "$TMP/k.pub"
	sigtag="sha256-${WANT#sha256:}.sig"
	"$IPUSH" -q oci:"$TMP/lay":v1 "$IREG/team/big:v1" >/dev/null
	payload "$IREG/team/big" "$WANT" >"$TMP/p"
	sig=$(openssl dgst -sha256 -sign "$TMP/k.key" "$TMP/p" | base64 -w0)
	sig_layout "$TMP/sl" "$TMP/p" "$sig" 1000
	"$IPUSH" -q oci:"$TMP/sl":s "$IREG/team/big:$sigtag" >/dev/null
	run skopeo inspect --raw --tls-verify=false "docker://$IREG/team/big:$sigtag"
	assert_success
	[ "$(jq '.layers | length' <<<"$output")" = 1000 ]
	run --separate-stderr "$IPULL" --verify-key "$TMP/k.pub" "$IREG/team/big:v1"
	assert_failure 1
	[[ "$stderr" == *"signature manifest $IREG/team/big:$sigtag has 1000 layers (at most 256 are read)"* ]]
	[ -z "$(ls "$IBUILD_STORE/blobs/sha256" 2>/dev/null)" ]
	run "$IPUSH" -q --sign-key "$TMP/k.key" oci:"$TMP/lay":v1 "$IREG/team/big:v1"
	assert_failure 1
	assert_output --partial "has 1000 layers (at most 256 are read)"
	# The same signature 256 times: at the cap, read, and it verifies.
	rm -rf "$TMP/sl"
	sig_layout "$TMP/sl" "$TMP/p" "$sig" 256
	"$IPUSH" -q oci:"$TMP/sl":s "$IREG/team/big:$sigtag" >/dev/null
	run --separate-stderr "$IPULL" --verify-key "$TMP/k.pub" "$IREG/team/big:v1"
	assert_success
	assert_output "$IREG/team/big@$WANT"
}

@test "ipush --sign-as referrer: an OCI 1.1 signature referrer (ireg's API, distribution's tag schema) that ipull --verify-key accepts" {
	start_ireg
	start_dist
	"$IPUSH" -q --generate-key "$TMP/a" >/dev/null
	"$IPUSH" -q --generate-key "$TMP/other" >/dev/null
	for R in "$IREG" "$DIST"; do
		run --separate-stderr "$IPUSH" --sign-key "$TMP/a.key" --sign-as referrer oci:"$TMP/lay":v1 "$R/team/app:v1"
		assert_success
		# No cosign tag: the signature is a referrer only.
		run skopeo inspect --raw --tls-verify=false "docker://$R/team/app:sha256-${WANT#sha256:}.sig"
		assert_failure
		run "$IPULL" --inspect --referrers "$R/team/app:v1"
		assert_success
		assert_output --partial "application/vnd.dev.cosign.artifact.sig.v1+json"
		run --separate-stderr "$IPULL" -q --verify-key "$TMP/a.pub" --output oci:"$TMP/out-${R##*:}":x "$R/team/app:v1"
		assert_success
		run --separate-stderr "$IPULL" -q --verify-key "$TMP/other.pub" --output oci:"$TMP/bad-${R##*:}":x "$R/team/app:v1"
		assert_failure
		[[ "$stderr" == *"referrer sha256:"*"does not verify"* ]]
	done
	# On ireg, the referrer is a real OCI 1.1 artifact with the image as subject.
	curl -sf "http://$IREG/v2/team/app/referrers/$WANT" >"$TMP/refs"
	[ "$(jq -r '.manifests[0].artifactType' "$TMP/refs")" = application/vnd.dev.cosign.artifact.sig.v1+json ]
	sd=$(jq -r '.manifests[0].digest' "$TMP/refs")
	curl -sf -H 'Accept: application/vnd.oci.image.manifest.v1+json' "http://$IREG/v2/team/app/manifests/$sd" >"$TMP/sm"
	[ "$(jq -r '.subject.digest' "$TMP/sm")" = "$WANT" ]
	[ "$(jq -r '.config.mediaType' "$TMP/sm")" = application/vnd.oci.empty.v1+json ]
	pd=$(jq -r '.layers[0].digest' "$TMP/sm")
	curl -sf "http://$IREG/v2/team/app/blobs/$pd" -o "$TMP/payload"
	jq -r '.layers[0].annotations["dev.cosignproject.cosign/signature"]' "$TMP/sm" | base64 -d >"$TMP/sig"
	run openssl dgst -sha256 -verify "$TMP/a.pub" -signature "$TMP/sig" "$TMP/payload"
	assert_success
	run "$IPUSH" --sign-key "$TMP/a.key" --sign-as nowhere oci:"$TMP/lay":v1 "$IREG/team/app:v1"
	assert_failure 2
}
