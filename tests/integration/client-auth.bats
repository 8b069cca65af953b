#!/usr/bin/env bats
# ipush/ipull authentication: htpasswd Basic (distribution and ireg), Bearer
# tokens with ireg as the issuer (on ireg, and on distribution trusting
# ireg's certificate), credentials from flags, auth files and config.json,
# Harbor-style robot$ account names.

bats_require_minimum_version 1.5.0
load client-helpers

setup() {
	client_setup
	htpasswd -Bbn -C 5 alice wonderland >"$TMP/htpasswd"
	htpasswd -Bbn -C 5 'robot$ci' 'tok:en$1' >>"$TMP/htpasswd"
	make_image "$TMP/lay" v1 64
	WANT=$(digest_of "$TMP/lay" v1)
}
teardown() { client_teardown; }

basic_flow() { # REGISTRY
	local reg=$1
	# Anonymous: refused with the registry's words.
	run "$IPUSH" -q oci:"$TMP/lay":v1 "$reg/team/app:v1"
	assert_failure
	assert_output --partial "registry $reg"
	assert_output --partial "HTTP 401"
	assert_output --partial "UNAUTHORIZED"
	# Wrong password.
	run "$IPUSH" -q --creds alice:nope oci:"$TMP/lay":v1 "$reg/team/app:v1"
	assert_failure
	assert_output --partial "401"
	# --creds.
	run --separate-stderr "$IPUSH" -q --creds alice:wonderland oci:"$TMP/lay":v1 "$reg/team/app:v1"
	assert_success
	assert_output "$reg/team/app@$WANT"
	# An auth file with a robot$ account whose password holds ':' and '$'.
	printf '{"auths":{"%s":{"auth":"%s"}}}' "$reg" "$(printf '%s' 'robot$ci:tok:en$1' | base64 -w0)" >"$TMP/auth.json"
	run --separate-stderr "$IPULL" -q --authfile "$TMP/auth.json" --output oci:"$TMP/out":a "$reg/team/app:v1"
	assert_success
	assert_equal "$(digest_of "$TMP/out" a)" "$WANT"
	# $DOCKER_CONFIG/config.json with an http:// key (Docker's host rules).
	mkdir -p "$DOCKER_CONFIG"
	printf '{"auths":{"http://%s/v2/":{"auth":"%s"}}}' "$reg" "$(printf alice:wonderland | base64 -w0)" \
		>"$DOCKER_CONFIG/config.json"
	run --separate-stderr "$IPULL" -q --output oci:"$TMP/out":b "$reg/team/app:v1"
	assert_success
	assert_equal "$(digest_of "$TMP/out" b)" "$WANT"
	# The password never shows in output.
	run "$IPULL" --creds alice:wrongpass --output oci:"$TMP/out":c "$reg/team/app:v1"
	assert_failure
	refute_output --partial wrongpass
}

@test "htpasswd Basic auth against distribution" {
	cat >"$TMP/auth.yml" <<-YML
		auth:
		  htpasswd:
		    realm: test-realm
		    path: $TMP/htpasswd
	YML
	start_dist "$TMP/auth.yml"
	basic_flow "$DIST"
}

@test "htpasswd Basic auth against ireg" {
	printf '{"auth":{"htpasswd":"%s"}}' "$TMP/htpasswd" >"$TMP/ireg.json"
	start_ireg --config "$TMP/ireg.json"
	basic_flow "$IREG"
}

# ireg issuing tokens on $IPORT: alice and robot$ci push team/**, anyone pulls.
start_token_ireg() {
	IPORT=$(free_port)
	openssl ecparam -name prime256v1 -genkey -noout -out "$TMP/ec.pem" 2>/dev/null
	openssl req -x509 -new -key "$TMP/ec.pem" -subj /CN=ireg-token -days 2 -out "$TMP/ec.crt" 2>/dev/null
	cat >"$TMP/ireg.json" <<-JSON
		{"auth": {"htpasswd": "$TMP/htpasswd", "anonymous": true,
		  "token": {"realm": "http://127.0.0.1:$IPORT/token", "service": "test-registry",
		            "issuer": "test-issuer", "key": "$TMP/ec.pem", "cert": "$TMP/ec.crt"},
		  "acl": [{"user": "alice", "repos": "**", "actions": ["pull", "push", "delete"]},
		          {"user": "robot\$ci", "repos": "team/**", "actions": ["pull", "push"]},
		          {"user": "*", "repos": "team/**", "actions": ["pull"]},
		          {"user": "anonymous", "repos": "team/**", "actions": ["pull"]}]}}
	JSON
	rm -f "$TMP/ireg.port"
	"$IREG_BIN" serve --addr "127.0.0.1:$IPORT" --root "$TMP/ireg-root" --config "$TMP/ireg.json" \
		--port-file "$TMP/ireg.port" --log "$TMP/ireg.log" 2>>"$TMP/ireg.err" &
	IREG_PID=$!
	PIDS+=("$IREG_PID")
	for _ in $(seq 100); do
		[ -s "$TMP/ireg.port" ] && break
		sleep 0.05
	done
	IREG=127.0.0.1:$IPORT
}

@test "Bearer tokens from ireg's /token on ireg" {
	start_token_ireg
	# Anonymous pull scope does not allow a push: the token server's answer
	# leaves push out and ireg refuses.
	run "$IPUSH" -q oci:"$TMP/lay":v1 "$IREG/team/app:v1"
	assert_failure
	assert_output --partial "registry $IREG"
	before=$(wc -l <"$TMP/ireg.log")
	run --separate-stderr "$IPUSH" --creds 'robot$ci:tok:en$1' oci:"$TMP/lay":v1 "$IREG/team/app:v1"
	assert_success
	assert_output "$IREG/team/app@$WANT"
	# One token for the whole push (cached per scope), not one per request;
	# the user name with '$' reached the token server intact.
	run bash -c "tail -n +$((before + 1)) '$TMP/ireg.log' | grep -c 'method=GET path=/token'"
	assert_output 1
	run bash -c "tail -n +$((before + 1)) '$TMP/ireg.log' | grep -c 'user=robot\$ci method=PUT'"
	refute_output 0
	# robot$ci may not push outside team/.
	run "$IPUSH" -q --creds 'robot$ci:tok:en$1' oci:"$TMP/lay":v1 "$IREG/other/app:v1"
	assert_failure
	# Anonymous pull works with an anonymous token.
	run --separate-stderr "$IPULL" --output oci:"$TMP/out":x "$IREG/team/app:v1"
	assert_success
	assert_equal "$(digest_of "$TMP/out" x)" "$WANT"
	# alice copies the image to a second repository: blobs are mounted with
	# a token carrying pull on the source repository.
	run "$IPULL" -q --creds alice:wonderland "$IREG/team/app:v1"
	assert_success
	run "$IBUILD_TOOLS/ocilayout" store-resolve "$IBUILD_STORE" "$IREG/team/app:v1"
	assert_success
	run "$IPULL" --inspect --creds alice:wonderland "$IREG/team/app:v1"
	assert_success
}

@test "distribution with auth: token trusts ireg as issuer" {
	start_token_ireg
	port=$(free_port)
	cat >"$TMP/auth.yml" <<-YML
		auth:
		  token:
		    realm: http://127.0.0.1:$IPORT/token
		    service: test-registry
		    issuer: test-issuer
		    rootcertbundle: $TMP/ec.crt
	YML
	start_dist "$TMP/auth.yml"
	run "$IPUSH" -q oci:"$TMP/lay":v1 "$DIST/team/app:v1"
	assert_failure
	assert_output --partial "registry $DIST"
	assert_output --partial "UNAUTHORIZED"
	run --separate-stderr "$IPUSH" --creds alice:wonderland oci:"$TMP/lay":v1 "$DIST/team/app:v1"
	assert_success
	assert_output "$DIST/team/app@$WANT"
	run --separate-stderr "$IPULL" --output oci:"$TMP/out":x "$DIST/team/app:v1"
	assert_success
	assert_equal "$(digest_of "$TMP/out" x)" "$WANT"
	# OAuth2: an identity token in the auth file makes the client POST the
	# refresh grant; ireg hands out refresh tokens for a password grant.
	rt=$(curl -s --data "grant_type=password&username=alice&password=wonderland&service=test-registry&client_id=bats&access_type=offline&scope=repository:team/app:pull" "http://127.0.0.1:$IPORT/token" | jq -er .refresh_token)
	printf '{"auths":{"%s":{"identitytoken":"%s"}}}' "$DIST" "$rt" >"$TMP/auth.json"
	run --separate-stderr "$IPUSH" --authfile "$TMP/auth.json" oci:"$TMP/lay":v1 "$DIST/team/oauth:v1"
	assert_success
	assert_output "$DIST/team/oauth@$WANT"
	run grep -c 'method=POST path=/token' "$TMP/ireg.log"
	refute_output 0
	# Pull then push to another repository in one process is what ibuild
	# does; from the CLI the copy goes through the store.
	run "$IPUSH" -q --creds alice:wonderland "$DIST/team/app:v1" "$DIST/team/copy:v1" 2>/dev/null
	assert_failure  # not in the store yet
	run "$IPULL" -q --creds alice:wonderland "$DIST/team/app:v1"
	assert_success
	run --separate-stderr "$IPUSH" --creds alice:wonderland "$DIST/team/app:v1" "$DIST/team/copy:v1"
	assert_success
	assert_equal "$(raw_digest "$DIST/team/copy:v1" --creds alice:wonderland)" "$WANT"
}
