#!/usr/bin/env bats
# End-to-end auth: htpasswd Basic and token (ireg as issuer) with skopeo and
# curl; anonymous vs authenticated vs denied; _catalog filtering.

load ireg-helpers

setup() {
	ireg_setup
	htpasswd -Bbc "$TMP/htpasswd" alice alicepw 2>/dev/null
	htpasswd -Bb "$TMP/htpasswd" bob bobpw 2>/dev/null
	make_image "$TMP/lay" v1 64
}
teardown() { ireg_teardown; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

ACL='[ {"user":"alice","repos":"**","actions":["*"]},
       {"user":"bob","repos":["team/**"],"actions":["pull"]},
       {"user":"anonymous","repos":"public/**","actions":["pull"]} ]'

@test "htpasswd Basic auth: anonymous 401, alice pushes, bob pulls but may not push, catalog filtered" {
	cat >"$TMP/config.json" <<-JSON
	{ "auth": { "htpasswd": "$TMP/htpasswd", "realm": "test-realm", "anonymous": true, "acl": $ACL } }
	JSON
	start_ireg "$TMP/root" --config "$TMP/config.json"
	assert_equal "$(http_code "$URL/v2/team/app/tags/list")" 401
	assert_equal "$(err_code)" UNAUTHORIZED
	assert_equal "$(header WWW-Authenticate)" 'Basic realm="test-realm"'
	assert_equal "$(http_code -u alice:wrong "$URL/v2/")" 401
	assert_equal "$(http_code -u alice:alicepw "$URL/v2/")" 200

	run skopeo copy --dest-tls-verify=false "oci:$TMP/lay:v1" "docker://$REG/team/app:v1"
	assert_failure
	run skopeo copy --dest-tls-verify=false --dest-creds alice:alicepw "oci:$TMP/lay:v1" "docker://$REG/team/app:v1"
	assert_success
	run skopeo copy --dest-tls-verify=false --dest-creds alice:alicepw "oci:$TMP/lay:v1" "docker://$REG/public/app:v1"
	assert_success
	run skopeo copy --dest-tls-verify=false --dest-creds alice:alicepw "oci:$TMP/lay:v1" "docker://$REG/private/app:v1"
	assert_success
	# bob: pull team/**, no push.
	run skopeo copy --src-tls-verify=false --src-creds bob:bobpw "docker://$REG/team/app:v1" "oci:$TMP/out:v1"
	assert_success
	assert_equal "$(http_code -u bob:bobpw -X POST "$URL/v2/team/app/blobs/uploads/")" 403
	assert_equal "$(err_code)" DENIED
	assert_equal "$(http_code -u bob:bobpw "$URL/v2/private/app/tags/list")" 403
	# Anonymous pull of public/** only.
	assert_equal "$(http_code "$URL/v2/public/app/manifests/v1")" 200
	run skopeo inspect --tls-verify=false --raw "docker://$REG/public/app:v1"
	assert_success
	# _catalog lists only what the caller may pull.
	assert_equal "$(http_code -u bob:bobpw "$URL/v2/_catalog")" 200
	assert_equal "$(jq -c .repositories "$TMP/body")" '["team/app"]'
	assert_equal "$(http_code -u alice:alicepw "$URL/v2/_catalog")" 200
	assert_equal "$(jq -c .repositories "$TMP/body")" '["private/app","public/app","team/app"]'
	assert_equal "$(http_code "$URL/v2/_catalog")" 200
	assert_equal "$(jq -c .repositories "$TMP/body")" '["public/app"]'
	# Users show up in the log; passwords never do.
	grep -q 'user=alice' "$TMP/ireg.log"
	run grep -c 'alicepw\|bobpw' "$TMP/ireg.log" "$TMP/ireg.err"
	refute_output --partial ':1'
}

@test "token auth with ireg as issuer: Bearer challenge, /token, skopeo --creds" {
	port=$(free_port)
	openssl ecparam -name prime256v1 -genkey -noout -out "$TMP/tok.key" 2>/dev/null
	cat >"$TMP/config.json" <<-JSON
	{ "addr": "127.0.0.1:$port",
	  "auth": { "htpasswd": "$TMP/htpasswd", "anonymous": true, "acl": $ACL,
	            "token": { "realm": "http://127.0.0.1:$port/token", "service": "ireg-test",
	                       "issuer": "ireg-test", "key": "$TMP/tok.key" } } }
	JSON
	"$IREG" serve --config "$TMP/config.json" --root "$TMP/root" --log "$TMP/ireg.log" 2>"$TMP/ireg.err" &
	IREG_PIDS+=($!)
	URL=http://127.0.0.1:$port
	REG=127.0.0.1:$port
	for i in $(seq 100); do curl -s "$URL/healthz" >/dev/null && break; sleep 0.05; done
	assert_equal "$(http_code "$URL/v2/team/app/tags/list")" 401
	run header WWW-Authenticate
	assert_output --partial "Bearer realm=\"http://127.0.0.1:$port/token\""
	assert_output --partial 'service="ireg-test"'
	assert_output --partial 'scope="repository:team/app:pull"'
	# A token for alice with push.
	assert_equal "$(http_code -u alice:alicepw "$URL/token?service=ireg-test&scope=repository:team/app:pull,push")" 200
	tok=$(jq -r .token "$TMP/body")
	assert [ -n "$tok" ]
	assert_equal "$(http_code -H "Authorization: Bearer $tok" "$URL/v2/")" 200
	assert_equal "$(http_code -H "Authorization: Bearer $tok" -X POST "$URL/v2/team/app/blobs/uploads/")" 202
	# The token does not cover another repository.
	assert_equal "$(http_code -H "Authorization: Bearer $tok" "$URL/v2/private/x/tags/list")" 401
	assert_equal "$(http_code -H "Authorization: Bearer garbage" "$URL/v2/team/app/tags/list")" 401

	run skopeo copy --dest-tls-verify=false --dest-creds alice:alicepw "oci:$TMP/lay:v1" "docker://$REG/team/app:v1"
	assert_success
	run skopeo copy --src-tls-verify=false --src-creds bob:bobpw "docker://$REG/team/app:v1" "oci:$TMP/out:v1"
	assert_success
	# bob's token grants only pull: the push is refused.
	run skopeo copy --dest-tls-verify=false --dest-creds bob:bobpw "oci:$TMP/lay:v1" "docker://$REG/team/app:v2"
	assert_failure
	# Anonymous token for public pulls.
	run skopeo copy --dest-tls-verify=false --dest-creds alice:alicepw "oci:$TMP/lay:v1" "docker://$REG/public/app:v1"
	assert_success
	run skopeo inspect --tls-verify=false --raw "docker://$REG/public/app:v1"
	assert_success
	run skopeo inspect --tls-verify=false --raw "docker://$REG/team/app:v1"
	assert_failure
}
