#!/usr/bin/env bats
# Interop: tokens issued by registry/auth (ireg's /token endpoint code, driven
# through the auth-token test tool) are trusted by CNCF distribution 2.8
# (Debian docker-registry) configured with `auth: token` and our certificate
# as rootcertbundle.  That proves the JWT shape, ES256/RS256 signatures, the
# libtrust kid and the access claims interoperate.
load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'

TOOL() { "${IBUILD_TOOLS:-$IBUILD_BUILD/tools}/auth-token" "$@"; }

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_distribution CERT: serve on $PORT trusting CERT.
start_distribution() {
	PORT=$(free_port)
	cat >"$T/registry.yml" <<-YML
		version: 0.1
		log:
		  level: error
		storage:
		  filesystem:
		    rootdirectory: $T/storage
		  delete:
		    enabled: true
		http:
		  addr: 127.0.0.1:$PORT
		auth:
		  token:
		    realm: https://auth.test/token
		    service: test-registry
		    issuer: test-issuer
		    rootcertbundle: $1
	YML
	docker-registry serve "$T/registry.yml" >"$T/registry.log" 2>&1 &
	REG_PID=$!
	for _ in $(seq 1 100); do
		curl -s -o /dev/null "http://127.0.0.1:$PORT/v2/" && return 0
		kill -0 "$REG_PID" 2>/dev/null || break
		sleep 0.1
	done
	cat "$T/registry.log"
	return 1
}

setup() {
	command -v docker-registry >/dev/null || fail "docker-registry (Debian package) is required"
	T=$(mktemp -d /tmp/ibuild-auth-dist.XXXXXX)
	openssl ecparam -name prime256v1 -genkey -noout -out "$T/ec.pem" 2>/dev/null
	openssl req -x509 -new -key "$T/ec.pem" -subj /CN=ireg-token -days 2 -out "$T/ec.crt" 2>/dev/null
	openssl genrsa -out "$T/rsa.pem" 2048 2>/dev/null
	openssl req -x509 -new -key "$T/rsa.pem" -subj /CN=ireg-rsa -days 2 -out "$T/rsa.crt" 2>/dev/null
	openssl ecparam -name prime256v1 -genkey -noout -out "$T/other.pem" 2>/dev/null
	htpasswd -Bbn -C 5 alice wonderland >"$T/htpasswd"
	htpasswd -Bbn -C 5 bob builder >>"$T/htpasswd"
	cat >"$T/ireg.json" <<-JSON
		{"auth": {"htpasswd": "$T/htpasswd", "anonymous": true,
		  "token": {"realm": "https://auth.test/token", "service": "test-registry",
		            "issuer": "test-issuer", "key": "$T/ec.pem", "cert": "$T/ec.crt"},
		  "acl": [{"user": "alice", "repos": "team/**", "actions": ["pull", "push", "delete"]},
		          {"user": "*", "repos": "team/**", "actions": ["pull"]}]}}
	JSON
	sed "s|$T/ec.pem|$T/rsa.pem|; s|$T/ec.crt|$T/rsa.crt|" "$T/ireg.json" >"$T/ireg-rsa.json"
	REG_PID=
	IREG_PID=
}

teardown() {
	if [ -n "${IREG_PID:-}" ]; then
		kill "$IREG_PID" 2>/dev/null || true
		wait "$IREG_PID" 2>/dev/null || true
	fi
	if [ -n "${REG_PID:-}" ]; then
		kill "$REG_PID" 2>/dev/null || true
		wait "$REG_PID" 2>/dev/null || true
	fi
	rm -rf "$T"
}

# token CONFIG USER:PASS SCOPE: a token from our endpoint ("" = anonymous).
token() {
	local authz= out
	[ -n "$2" ] && authz="Basic $(printf %s "$2" | base64 -w0)"
	out=$(TOOL endpoint "$1" GET "service=test-registry&scope=$3" "$authz") || return 1
	[ "$(head -1 <<<"$out")" = 200 ] || { echo "token endpoint: $out" >&2; return 1; }
	tail -1 <<<"$out" | jq -er .token
}

code() { # METHOD URL [TOKEN]
	local h=()
	[ -n "${3:-}" ] && h=(-H "Authorization: Bearer $3")
	curl -s -o /dev/null -w '%{http_code}' -X "$1" "${h[@]}" "$2"
}

@test "distribution challenges without a token" {
	start_distribution "$T/ec.crt"
	run curl -s -D - -o /dev/null "http://127.0.0.1:$PORT/v2/"
	assert_output --partial "401 Unauthorized"
	assert_output --partial 'Bearer realm="https://auth.test/token",service="test-registry"'
}

@test "distribution accepts ireg ES256 tokens and enforces their access claims" {
	start_distribution "$T/ec.crt"
	base=http://127.0.0.1:$PORT/v2
	tok=$(token "$T/ireg.json" alice:wonderland "repository:team/app:pull,push")
	[ -n "$tok" ]
	# The kid in our header is the libtrust ID distribution computed for the cert.
	run TOOL kid "$T/ec.pem"
	kid=$output
	hdr=$(printf %s "$tok" | cut -d. -f1 | tr '_-' '/+')
	while [ $((${#hdr} % 4)) -ne 0 ]; do hdr="$hdr="; done
	run bash -c "printf %s '$hdr' | base64 -d | jq -r .kid"
	assert_output "$kid"

	run code GET "$base/" "$tok"
	assert_output 200
	# push scope: an upload session starts.
	run code POST "$base/team/app/blobs/uploads/" "$tok"
	assert_output 202
	# A repository the token does not cover.
	run code POST "$base/team/other/blobs/uploads/" "$tok"
	assert_output 401

	# bob only gets pull: distribution refuses his push, allows his pull.
	tok=$(token "$T/ireg.json" bob:builder "repository:team/app:pull,push")
	run code GET "$base/team/app/tags/list" "$tok"
	assert_output 404  # authorised; the repository is just empty
	run code POST "$base/team/app/blobs/uploads/" "$tok"
	assert_output 401

	# Anonymous callers (allowed by the config) get an empty grant for team.
	tok=$(token "$T/ireg.json" "" "repository:team/app:pull")
	run code GET "$base/" "$tok"
	assert_output 200
	run code GET "$base/team/app/tags/list" "$tok"
	assert_output 401
}

@test "distribution accepts ireg RS256 tokens" {
	start_distribution "$T/rsa.crt"
	tok=$(token "$T/ireg-rsa.json" alice:wonderland "repository:team/app:pull,push")
	run code POST "http://127.0.0.1:$PORT/v2/team/app/blobs/uploads/" "$tok"
	assert_output 202
	# kid only (no x5c): distribution finds the key by its libtrust ID.
	run TOOL sign "$T/rsa.pem" test-issuer test-registry alice 300 repository:team/app:pull
	assert_success
	run code GET "http://127.0.0.1:$PORT/v2/team/app/tags/list" "$output"
	assert_output 404
	# An ES256 token from the other configuration is not trusted here.
	tok=$(token "$T/ireg.json" alice:wonderland "repository:team/app:pull,push")
	run code POST "http://127.0.0.1:$PORT/v2/team/app/blobs/uploads/" "$tok"
	assert_output 401
}

@test "distribution rejects wrong key, issuer, audience and expired tokens" {
	start_distribution "$T/ec.crt"
	base=http://127.0.0.1:$PORT/v2
	run TOOL sign "$T/ec.pem" test-issuer test-registry alice 300 repository:team/app:pull
	assert_success
	run code GET "$base/team/app/tags/list" "$output"
	assert_output 404
	run TOOL sign "$T/other.pem" test-issuer test-registry alice 300 repository:team/app:pull
	run code GET "$base/team/app/tags/list" "$output"
	assert_output 401
	run TOOL sign "$T/ec.pem" evil test-registry alice 300 repository:team/app:pull
	run code GET "$base/team/app/tags/list" "$output"
	assert_output 401
	run TOOL sign "$T/ec.pem" test-issuer other-registry alice 300 repository:team/app:pull
	run code GET "$base/team/app/tags/list" "$output"
	assert_output 401
	run TOOL sign "$T/ec.pem" test-issuer test-registry alice -600 repository:team/app:pull
	run code GET "$base/team/app/tags/list" "$output"
	assert_output 401
}

@test "ireg's own check agrees with distribution on the same tokens" {
	tok=$(token "$T/ireg.json" alice:wonderland "repository:team/app:pull,push")
	run TOOL check "$T/ireg.json" team/app pull,push "Bearer $tok"
	assert_line --index 0 "200 alice"
	run TOOL check "$T/ireg.json" team/other pull "Bearer $tok"
	assert_line --index 0 "401 alice"
	assert_line --index 1 --partial 'error="insufficient_scope"'
	run TOOL check "$T/ireg.json" other pull "Bearer $tok"
	assert_line --index 0 "403 alice"
	run TOOL sign "$T/other.pem" test-issuer test-registry alice 300 repository:team/app:pull
	run TOOL check "$T/ireg.json" team/app pull "Bearer $output"
	assert_line --index 0 "401 "
	assert_line --index 1 --partial 'error="invalid_token"'
}

# start_ireg CONFIG: `ireg serve` with CONFIG on $IPORT.
start_ireg() {
	mkdir -p "$T/ireg-root"
	ireg serve --addr "127.0.0.1:$IPORT" --root "$T/ireg-root" --config "$1" \
		--port-file "$T/ireg.port" --no-access-log --log "$T/ireg.log" &
	IREG_PID=$!
	for _ in $(seq 1 100); do
		[ -s "$T/ireg.port" ] && return 0
		kill -0 "$IREG_PID" 2>/dev/null || break
		sleep 0.1
	done
	cat "$T/ireg.log"
	return 1
}

@test "tokens from ireg serve's /token work on distribution and on ireg itself" {
	command -v ireg >/dev/null || fail "ireg is not on PATH (the runner puts \$IBUILD_BUILD/bin there)"
	IPORT=$(free_port)
	sed "s|https://auth.test/token|http://127.0.0.1:$IPORT/token|" "$T/ireg.json" >"$T/ireg-serve.json"
	start_ireg "$T/ireg-serve.json"
	start_distribution "$T/ec.crt"

	# ireg challenges with its own realm.
	run curl -s -D - -o /dev/null "http://127.0.0.1:$IPORT/v2/team/app/tags/list"
	assert_output --regexp "^HTTP/1.1 401"
	assert_output --partial "Bearer realm=\"http://127.0.0.1:$IPORT/token\",service=\"test-registry\",scope=\"repository:team/app:pull\""

	# GET /token with Basic credentials, as docker and skopeo do.
	run curl -s -u alice:wonderland "http://127.0.0.1:$IPORT/token?service=test-registry&scope=repository:team/app:pull,push"
	assert_success
	tok=$(jq -er .token <<<"$output")
	run jq -er .expires_in <<<"$output"
	assert_output 300
	run code POST "http://127.0.0.1:$PORT/v2/team/app/blobs/uploads/" "$tok"
	assert_output 202
	run code POST "http://127.0.0.1:$IPORT/v2/team/app/blobs/uploads/" "$tok"
	assert_output 202

	# OAuth2 POST form with a refresh token, then a refresh grant.
	run curl -s --data "grant_type=password&username=alice&password=wonderland&service=test-registry&client_id=bats&access_type=offline&scope=repository:team/app:pull" "http://127.0.0.1:$IPORT/token"
	rt=$(jq -er .refresh_token <<<"$output")
	run curl -s --data-urlencode "grant_type=refresh_token" --data-urlencode "refresh_token=$rt" \
		--data "service=test-registry&client_id=bats&scope=repository:team/app:pull" "http://127.0.0.1:$IPORT/token"
	tok=$(jq -er .access_token <<<"$output")
	run code GET "http://127.0.0.1:$PORT/v2/team/app/tags/list" "$tok"
	assert_output 404

	# Wrong password: 401 with a Basic challenge, no token.
	run curl -s -D - -u alice:wrong "http://127.0.0.1:$IPORT/token?service=test-registry"
	assert_output --regexp "^HTTP/1.1 401"
	assert_output --partial 'WWW-Authenticate: Basic realm="ireg"'
	refute_output --partial '"token"'
	# The password never reaches the log.
	run grep -c wonderland "$T/ireg.log"
	assert_output 0
}
