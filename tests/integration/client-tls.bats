#!/usr/bin/env bats
# ipush/ipull over TLS: a test CA made with openssl, --cert-dir with *.crt
# and a *.cert/*.key client pair, --tls-verify=false.

bats_require_minimum_version 1.5.0
load client-helpers

setup() {
	client_setup
	cd "$TMP"
	openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -subj /CN=test-ca -days 2 2>/dev/null
	openssl req -newkey rsa:2048 -nodes -keyout srv.key -out srv.csr -subj /CN=127.0.0.1 2>/dev/null
	printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >srv.ext
	openssl x509 -req -in srv.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out srv.crt -days 2 \
		-extfile srv.ext 2>/dev/null
	openssl req -newkey rsa:2048 -nodes -keyout client.key -out client.csr -subj /CN=ci-bot 2>/dev/null
	printf 'extendedKeyUsage=clientAuth\n' >client.ext
	openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out client.crt -days 2 \
		-extfile client.ext 2>/dev/null
	mkdir -p certs-ca certs-client
	cp ca.crt certs-ca/ca.crt
	cp ca.crt certs-client/ca.crt
	cp client.crt certs-client/client.cert
	cp client.key certs-client/client.key
	cd - >/dev/null
	make_image "$TMP/lay" v1 64
	WANT=$(digest_of "$TMP/lay" v1)
}
teardown() { client_teardown; }

tls_flow() { # REGISTRY
	local reg=$1
	# An unknown CA is refused, naming the registry.
	run "$IPUSH" -q --retry 0 oci:"$TMP/lay":v1 "$reg/team/app:v1"
	assert_failure
	assert_output --partial "registry $reg"
	assert_output --regexp "[Cc]ertificate|SSL|TLS"
	run --separate-stderr "$IPUSH" -q --cert-dir "$TMP/certs-ca" oci:"$TMP/lay":v1 "$reg/team/app:v1"
	assert_success
	assert_output "$reg/team/app@$WANT"
	run --separate-stderr "$IPULL" -q --cert-dir "$TMP/certs-ca" --output oci:"$TMP/out":a "$reg/team/app:v1"
	assert_success
	assert_equal "$(digest_of "$TMP/out" a)" "$WANT"
	run --separate-stderr "$IPULL" -q --tls-verify=false --output oci:"$TMP/out":b "$reg/team/app:v1"
	assert_success
	assert_equal "$(digest_of "$TMP/out" b)" "$WANT"
	# HTTPS was used (no plain-HTTP fallback happened): plain HTTP is refused.
	run "$IPULL" -q --plain-http --retry 0 --output oci:"$TMP/out":c "$reg/team/app:v1"
	assert_failure
}

@test "TLS with a test CA against distribution" {
	cat >"$TMP/tls.yml" <<-YML
		  tls:
		    certificate: $TMP/srv.crt
		    key: $TMP/srv.key
	YML
	start_dist "$TMP/tls.yml"
	tls_flow "$DIST"
}

@test "TLS with a test CA against ireg, and a client certificate" {
	start_ireg --tls-cert "$TMP/srv.crt" --tls-key "$TMP/srv.key"
	tls_flow "$IREG"
	kill -9 "$IREG_PID"
	start_ireg --tls-cert "$TMP/srv.crt" --tls-key "$TMP/srv.key" --tls-client-ca "$TMP/ca.crt"
	run "$IPUSH" -q --retry 0 --cert-dir "$TMP/certs-ca" oci:"$TMP/lay":v1 "$IREG/team/app:v1"
	assert_failure
	run --separate-stderr "$IPUSH" -q --cert-dir "$TMP/certs-client" oci:"$TMP/lay":v1 "$IREG/team/app:v1"
	assert_success
	assert_output "$IREG/team/app@$WANT"
}
