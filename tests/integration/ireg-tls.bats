#!/usr/bin/env bats
# TLS with a test CA made by the openssl CLI; client-certificate auth.

load ireg-helpers

setup() {
	ireg_setup
	cd "$TMP"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=test-ca \
		-keyout ca.key -out ca.crt 2>/dev/null
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=127.0.0.1 \
		-keyout srv.key -out srv.csr 2>/dev/null
	printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >srv.ext
	openssl x509 -req -in srv.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -extfile srv.ext \
		-out srv.crt 2>/dev/null
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=alice/O=team \
		-keyout cli.key -out cli.csr 2>/dev/null
	printf 'extendedKeyUsage=clientAuth\n' >cli.ext
	openssl x509 -req -in cli.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -extfile cli.ext \
		-out cli.crt 2>/dev/null
	# A certificate from another CA.
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=mallory \
		-keyout evil.key -out evil.crt 2>/dev/null
	mkdir certs && cp ca.crt certs/ca.crt
	cd - >/dev/null
}
teardown() { ireg_teardown; }

@test "HTTPS with --tls-cert/--tls-key: curl --cacert and skopeo --dest-cert-dir" {
	start_ireg "$TMP/root" --tls-cert "$TMP/srv.crt" --tls-key "$TMP/srv.key"
	run curl -sf --cacert "$TMP/ca.crt" "https://$REG/v2/"
	assert_success
	assert_output "{}"
	# Untrusted without the CA; plain HTTP is not served.
	run curl -s "https://$REG/v2/"
	assert_failure
	run curl -sf "http://$REG/v2/"
	assert_failure
	# A layer over 1 MiB: over plain HTTP it would go out with sendfile;
	# with TLS it takes the buffered path.
	make_image "$TMP/lay" v1 2048
	run skopeo copy --dest-cert-dir "$TMP/certs" "oci:$TMP/lay:v1" "docker://$REG/tls/app:v1"
	assert_success
	run skopeo copy --src-cert-dir "$TMP/certs" "docker://$REG/tls/app:v1" "oci:$TMP/out:v1"
	assert_success
	assert_equal "$(jq -r '.manifests[0].digest' "$TMP/out/index.json")" \
		"$(jq -r '.manifests[0].digest' "$TMP/lay/index.json")"
	# Ranged GET over TLS (no sendfile path).
	d=$(jq -r '.layers[0].digest' "$TMP/out/blobs/sha256/$(jq -r '.manifests[0].digest' "$TMP/out/index.json" | cut -d: -f2)")
	run curl -sf --cacert "$TMP/ca.crt" -H 'Range: bytes=0-9' -o "$TMP/part" -w '%{http_code}' "https://$REG/v2/tls/app/blobs/$d"
	assert_output 206
	assert_equal "$(stat -c %s "$TMP/part")" 10
	[ "$(stat -c %s "$TMP/out/blobs/sha256/${d#sha256:}")" -gt $((1024 * 1024)) ]
	run curl -sf --cacert "$TMP/ca.crt" -o "$TMP/whole" "https://$REG/v2/tls/app/blobs/$d"
	assert_success
	assert_equal "sha256:$(sha "$TMP/whole")" "$d"
}

@test "--tls-client-ca: requests need a certificate from that CA" {
	start_ireg "$TMP/root" --tls-cert "$TMP/srv.crt" --tls-key "$TMP/srv.key" --tls-client-ca "$TMP/ca.crt"
	run curl -s -o "$TMP/body" -w '%{http_code}' --cacert "$TMP/ca.crt" "https://$REG/v2/"
	assert_output 401
	assert_equal "$(err_code)" UNAUTHORIZED
	run curl -s -o /dev/null -w '%{http_code}' --cacert "$TMP/ca.crt" --cert "$TMP/evil.crt" --key "$TMP/evil.key" "https://$REG/v2/"
	refute_output 200
	run curl -sf --cacert "$TMP/ca.crt" --cert "$TMP/cli.crt" --key "$TMP/cli.key" "https://$REG/v2/"
	assert_success
	# skopeo finds client.cert/client.key in the cert dir.
	cp "$TMP/cli.crt" "$TMP/certs/client.cert"
	cp "$TMP/cli.key" "$TMP/certs/client.key"
	make_image "$TMP/lay" v1 64
	run skopeo copy --dest-cert-dir "$TMP/certs" "oci:$TMP/lay:v1" "docker://$REG/mtls/app:v1"
	assert_success
}

@test "bad TLS settings fail clearly" {
	run "$IREG" serve --addr 127.0.0.1:0 --root "$TMP/root" --tls-cert "$TMP/srv.crt"
	assert_failure
	assert_output --partial "both a certificate and a key"
	run "$IREG" serve --addr 127.0.0.1:0 --root "$TMP/root" --tls-cert "$TMP/nope.crt" --tls-key "$TMP/srv.key"
	assert_failure
	assert_output --partial "nope.crt"
	run "$IREG" serve --addr 127.0.0.1:0 --root "$TMP/root" --tls-client-ca "$TMP/ca.crt"
	assert_failure
	assert_output --partial "need TLS"
}
