#!/usr/bin/env bats
# ireg at the HTTP layer, as an attacker or a sloppy client meets it: escapes
# in the request target, framing that could smuggle a second request, peers
# that vanish mid-body, too many connections, oversized and inconsistent
# bodies, full disks, and what the answers do to the connection.

load ireg-helpers

RAW="python3 $BATS_TEST_DIRNAME/raw-http.py"

setup() {
	ireg_setup
	printf 'config-bytes' >"$TMP/cfg"
	head -c 100000 /dev/urandom >"$TMP/layer"
}
teardown() { ireg_teardown; }

# push_image REPO TAG [LABEL]: config + layer + manifest under TAG; sets
# MDIGEST, CDIGEST, LDIGEST and writes $TMP/manifest.  LABEL makes the
# manifest (not the blobs) differ between calls.
push_image() {
	CDIGEST=$(push_blob "$1" "$TMP/cfg")
	LDIGEST=$(push_blob "$1" "$TMP/layer")
	manifest_for "$CDIGEST" 12 "$LDIGEST" 100000 | jq -c --arg l "${3:-}" '. + {annotations:{l:$l}}' |
		tr -d '\n' >"$TMP/manifest"
	MDIGEST=sha256:$(sha "$TMP/manifest")
	curl -sf -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' \
		--data-binary @"$TMP/manifest" "$URL/v2/$1/manifests/$2" >/dev/null
}

tag_digest() { # REPO TAG
	curl -sf -I -H 'Accept: application/vnd.oci.image.manifest.v1+json' "$URL/v2/$1/manifests/$2" |
		grep -i '^docker-content-digest:' | cut -d' ' -f2 | tr -d '\r'
}

open_fds() { ls "/proc/$IREG_PID/fd" | wc -l; }

@test "http: an escaped NUL or control byte in any part of the target is 400 and touches nothing" {
	start_ireg "$TMP/root"
	push_image r v1 one
	local v1=$MDIGEST
	push_image r other two
	# PUT v1%00x must not repoint v1
	for c in %00 %0a %0d %1f %7f %7F; do
		assert_equal "$(http_code -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' \
			--data-binary @"$TMP/manifest" "$URL/v2/r/manifests/v1${c}x")" 400
		assert_equal "$(tag_digest r v1)" "$v1"
		assert_equal "$(http_code -X DELETE "$URL/v2/r/manifests/v1${c}zzz")" 400
		assert_equal "$(http_code -X DELETE "$URL/v2/r/manifests/$v1${c}")" 400
		assert_equal "$(tag_digest r v1)" "$v1"
		assert_equal "$(http_code "$URL/v2/r/blobs/$LDIGEST${c}junk")" 400
		assert_equal "$(http_code -I "$URL/v2/r/blobs/$LDIGEST${c}")" 400
		assert_equal "$(http_code -X DELETE "$URL/v2/r/blobs/$LDIGEST${c}")" 400
		assert_equal "$(http_code "$URL/v2/r${c}x/tags/list")" 400
		assert_equal "$(http_code "$URL/v2/${c}/r/tags/list")" 400
		assert_equal "$(http_code "$URL/v2/r/tags/list${c}")" 400
		assert_equal "$(http_code "$URL/v2/r/tags/list?n=1${c}")" 400
		assert_equal "$(http_code "$URL/v2/_catalog?last=a${c}b")" 400
		assert_equal "$(http_code "$URL/v2/r/referrers/$v1${c}")" 400
		assert_equal "$(http_code -X POST "$URL/v2/r${c}/blobs/uploads/")" 400
		assert_equal "$(http_code -X POST "$URL/v2/r/blobs/uploads/?digest=$LDIGEST${c}")" 400
		assert_equal "$(http_code "$URL/v2${c}/")" 400
		assert_equal "$(http_code "$URL/healthz${c}")" 400
	done
	run jq -r '.errors[0].message' "$TMP/body"
	assert_output --partial 'escaped control character'
	# an upload id with a NUL does not reach the session it prefixes
	http_code -X POST "$URL/v2/r/blobs/uploads/" >/dev/null
	loc=$(header Location)
	assert_equal "$(http_code -X PUT --data-binary @"$TMP/cfg" "$URL$loc%00?digest=$CDIGEST")" 400
	assert_equal "$(http_code "$URL$loc")" 204
	# the tags and blobs are all still there, and the server answers
	assert_equal "$(http_code "$URL/v2/r/manifests/v1")" 200
	assert_equal "$(http_code "$URL/v2/r/blobs/$LDIGEST")" 200
	assert_equal "$(curl -sf "$URL/v2/r/tags/list" | jq -c .tags)" '["other","v1"]'
	# ordinary escapes still decode
	assert_equal "$(http_code "$URL/v2/r/manifests/v%31")" 200
}

@test "http: Content-Length with Transfer-Encoding is 400 and closes, so a hidden request never runs" {
	start_ireg "$TMP/root"
	push_image r v1
	local hidden="DELETE /v2/r/manifests/$MDIGEST HTTP/1.1\r\nHost: x\r\n\r\n"
	local te
	for te in "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n" \
		"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n" \
		"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n" \
		"Content-Length: 5\r\nTransfer-Encoding: chunked\n" \
		"Transfer-Encoding: chunked\nTransfer-Encoding: chunked\n"; do
		run bash -c "printf 'POST /v2/r/blobs/uploads/ HTTP/1.1\r\nHost: x\r\n$te\r\n0\r\n\r\n$hidden' | $RAW $PORT"
		assert_success
		assert_line --index 0 --regexp '^HTTP/1\.1 400 '
		[ "$(grep -c '^HTTP/1' <<<"$output")" -eq 1 ]
		assert_line '== closed'
		assert_equal "$(http_code "$URL/v2/r/manifests/v1")" 200
	done
	# a chunked HTTP/1.0 request is faulty framing too
	run bash -c "printf 'POST /v2/r/blobs/uploads/ HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n' | $RAW $PORT"
	assert_line --index 0 --regexp '^HTTP/1\.[01] 400 '
	assert_line '== closed'
	# the same request framed once is served, and keeps the connection
	run bash -c "printf 'POST /v2/r/blobs/uploads/ HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /v2/ HTTP/1.1\r\nHost: x\r\n\r\n' | $RAW $PORT 1"
	assert_line --index 0 --regexp '^HTTP/1\.1 202 '
	assert_line --regexp '^HTTP/1\.1 200 '
	assert_line '== open'
	assert_equal "$(http_code "$URL/v2/r/manifests/v1")" 200
}

@test "http: an unknown transfer coding is answered 501 at once and the connection closed" {
	start_ireg "$TMP/root" --timeout 60
	local te start
	for te in xchunked 'gzip, chunked' 'chunked, gzip' identity; do
		start=$SECONDS
		run bash -c "printf 'PUT /v2/r/manifests/v1 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: $te\r\n\r\n5\r\nhello\r\n0\r\n\r\n' | $RAW $PORT 10"
		assert_success
		assert_line --index 0 --regexp '^HTTP/1\.1 501 '
		assert_output --partial "$te"
		assert_line '== closed'
		[ $((SECONDS - start)) -lt 5 ]
	done
	# a header name with a blank before its colon is not a token
	run bash -c "printf 'POST /v2/r/blobs/uploads/ HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\nContent-Length: 3\r\n\r\nabc' | $RAW $PORT"
	assert_line --index 0 --regexp '^HTTP/1\.1 400 '
	assert_line '== closed'
}

@test "http: clients that close mid-body release their connection and upload file at once" {
	ulimit -n 1024
	start_ireg "$TMP/root" --timeout 300
	local base
	base=$(open_fds)
	run python3 - "$PORT" <<-'PY'
	import http.client, socket, sys
	port = int(sys.argv[1])
	c = http.client.HTTPConnection("127.0.0.1", port)
	for i in range(3000):
	    c.request("POST", "/v2/r/blobs/uploads/")
	    res = c.getresponse(); res.read()
	    if res.status != 202:
	        sys.exit("POST %d: %d" % (i, res.status))
	    loc = res.getheader("Location")
	    s = socket.create_connection(("127.0.0.1", port))
	    s.sendall(("PATCH %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\n"
	               "Content-Length: 1000000\r\n\r\n" % loc).encode() + b"x" * 100)
	    s.close()
	PY
	assert_success
	# all released without waiting for --timeout
	local i n
	for i in $(seq 50); do
		n=$(open_fds)
		[ "$n" -le $((base + 8)) ] && break
		sleep 0.1
	done
	[ "$n" -le $((base + 8)) ] || { echo "fds: $n, at start $base" >&2; false; }
	! grep -q 'Too many open files' "$TMP/ireg.err" "$TMP/ireg.log"
	# and the server goes on serving, uploads included
	assert_equal "$(http_code "$URL/v2/")" 200
	d=$(push_blob r "$TMP/layer")
	assert_equal "$(http_code "$URL/v2/r/blobs/$d")" 200
}

# hold N idle connections open (each having sent nothing) until stdin ends
hold_conns() { # N
	python3 -c '
import socket, sys, time
ss = [socket.create_connection(("127.0.0.1", int(sys.argv[1]))) for _ in range(int(sys.argv[2]))]
print("held", flush=True)
sys.stdin.read()
' "$PORT" "$1"
}

@test "http: --max-conns-per-ip and --max-conns answer 503 with Retry-After past the limit, then recover" {
	start_ireg "$TMP/root" --max-conns-per-ip 3
	coproc HOLD { hold_conns 3; }
	read -r line <&"${HOLD[0]}"
	assert_equal "$line" held
	sleep 0.3
	run bash -c "printf 'GET /v2/ HTTP/1.1\r\nHost: x\r\n\r\n' | $RAW $PORT"
	assert_line --index 0 --regexp '^HTTP/1\.1 503 '
	assert_output --regexp 'Retry-After: [0-9]+'
	assert_output --partial TOOMANYREQUESTS
	assert_line '== closed'
	exec {HOLD[1]}>&-
	wait "$HOLD_PID"
	local i
	for i in $(seq 30); do [ "$(http_code "$URL/v2/")" = 200 ] && break; sleep 0.1; done
	assert_equal "$(http_code "$URL/v2/")" 200
	stop_ireg

	start_ireg "$TMP/root" --max-conns 4
	coproc HOLD { hold_conns 4; }
	read -r line <&"${HOLD[0]}"
	sleep 0.3
	assert_equal "$(http_code "$URL/v2/")" 503
	[ -n "$(header Retry-After)" ]
	exec {HOLD[1]}>&-
	wait "$HOLD_PID"
	for i in $(seq 30); do [ "$(http_code "$URL/v2/")" = 200 ] && break; sleep 0.1; done
	assert_equal "$(http_code "$URL/v2/")" 200
	# the same from the config file; a budget over the open-file limit is
	# an error that says so
	echo '{"max_conns": 4000, "max_conns_per_ip": 2}' >"$TMP/c.json"
	run bash -c "ulimit -n 512; '$IREG' serve --addr 127.0.0.1:0 --root '$TMP/root' --config '$TMP/c.json'"
	assert_failure
	assert_output --partial "4000 needs"
	assert_output --partial "open files"
	run "$IREG" serve --max-conns 0
	assert_failure
	assert_output --partial "--max-conns: want"
}

@test "http: a manifest body over the limit is answered 413, chunked or not, however long it is" {
	start_ireg "$TMP/root"
	local mb
	for mb in 5 70; do
		run bash -c "head -c ${mb}M /dev/zero | curl -s -o '$TMP/body' -w '%{http_code}' -X PUT -T - \
			-H 'Content-Type: application/vnd.oci.image.manifest.v1+json' '$URL/v2/r/manifests/big'"
		assert_output 413
		assert_equal "$(err_code)" SIZE_INVALID
	done
	head -c 5M /dev/zero >"$TMP/5m"
	assert_equal "$(http_code -X PUT --data-binary @"$TMP/5m" \
		-H 'Content-Type: application/vnd.oci.image.manifest.v1+json' "$URL/v2/r/manifests/big")" 413
	assert_equal "$(http_code "$URL/v2/r/manifests/big")" 404
	assert_equal "$(http_code "$URL/v2/")" 200
}

@test "http: a manifest descriptor whose size is not the blob's is 400 MANIFEST_INVALID naming it" {
	start_ireg "$TMP/root"
	CDIGEST=$(push_blob r "$TMP/cfg")
	LDIGEST=$(push_blob r "$TMP/layer")
	local ct='Content-Type: application/vnd.oci.image.manifest.v1+json' sz
	for sz in 100001 99999 0; do
		manifest_for "$CDIGEST" 12 "$LDIGEST" $sz >"$TMP/m"
		assert_equal "$(http_code -X PUT -H "$ct" --data-binary @"$TMP/m" "$URL/v2/r/manifests/v1")" 400
		assert_equal "$(err_code)" MANIFEST_INVALID
		run jq -r '.errors[0].message' "$TMP/body"
		assert_output --partial "$LDIGEST"
		assert_output --partial "$sz"
	done
	manifest_for "$CDIGEST" 13 "$LDIGEST" 100000 >"$TMP/m"
	assert_equal "$(http_code -X PUT -H "$ct" --data-binary @"$TMP/m" "$URL/v2/r/manifests/v1")" 400
	assert_equal "$(err_code)" MANIFEST_INVALID
	assert_equal "$(http_code "$URL/v2/r/manifests/v1")" 404
	# an index entry is checked against the stored manifest the same way
	manifest_for "$CDIGEST" 12 "$LDIGEST" 100000 >"$TMP/m"
	assert_equal "$(http_code -X PUT -H "$ct" --data-binary @"$TMP/m" "$URL/v2/r/manifests/v1")" 201
	local md msz
	md=sha256:$(sha "$TMP/m")
	msz=$(stat -c %s "$TMP/m")
	local ict='Content-Type: application/vnd.oci.image.index.v1+json'
	jq -cn --arg d "$md" --argjson s $((msz + 1)) '{schemaVersion:2,
		mediaType:"application/vnd.oci.image.index.v1+json",
		manifests:[{mediaType:"application/vnd.oci.image.manifest.v1+json",digest:$d,size:$s}]}' >"$TMP/i"
	assert_equal "$(http_code -X PUT -H "$ict" --data-binary @"$TMP/i" "$URL/v2/r/manifests/idx")" 400
	assert_equal "$(err_code)" MANIFEST_INVALID
	run jq -r '.errors[0].message' "$TMP/body"
	assert_output --partial "$md"
	jq -cn --arg d "$md" --argjson s "$msz" '{schemaVersion:2,
		mediaType:"application/vnd.oci.image.index.v1+json",
		manifests:[{mediaType:"application/vnd.oci.image.manifest.v1+json",digest:$d,size:$s}]}' >"$TMP/i"
	assert_equal "$(http_code -X PUT -H "$ict" --data-binary @"$TMP/i" "$URL/v2/r/manifests/idx")" 201
}

# start_ireg_small_disk MIB: ireg on a MIB-sized tmpfs of its own (a
# private mount namespace, so no root needed); its files are seen from here
# through /proc/PID/root.  Sets DISK (the path in that namespace).
start_ireg_small_disk() {
	DISK=$TMP/disk
	mkdir -p "$DISK"
	rm -f "$TMP/port"
	unshare -rm sh -c "mount -t tmpfs -o size=${1}m tmpfs '$DISK' && exec '$IREG' serve --addr 127.0.0.1:0 \
		--root '$DISK/root' --port-file '$TMP/port' --log '$TMP/ireg.log'" 2>>"$TMP/ireg.err" &
	IREG_PID=$!
	IREG_PIDS+=("$IREG_PID")
	wait_ireg_port || return 1
	INSIDE=/proc/$IREG_PID/root$DISK
}

@test "http: a failed upload on a full disk frees its data at once, and errors name no server path" {
	start_ireg_small_disk 4
	head -c 6M /dev/urandom >"$TMP/6m"
	head -c 3M /dev/urandom >"$TMP/3m"
	# chunked: POST then a PATCH too big for the disk
	assert_equal "$(http_code -X POST "$URL/v2/r/blobs/uploads/")" 202
	loc=$(header Location)
	assert_equal "$(http_code -X PATCH -H 'Content-Type: application/octet-stream' --data-binary @"$TMP/6m" \
		"$URL$loc")" 507
	run jq -r '.errors[0].message' "$TMP/body"
	assert_output --partial "registry storage is full"
	refute_output --partial "$DISK"
	refute_output --partial /
	# the session is gone with its bytes: not resumable, no space held
	assert_equal "$(http_code "$URL$loc")" 404
	assert_equal "$(err_code)" BLOB_UPLOAD_UNKNOWN
	[ -z "$(find "$INSIDE/root" -path '*_uploads/*' -type f)" ]
	# monolithic the same way
	assert_equal "$(http_code -X POST -H 'Content-Type: application/octet-stream' --data-binary @"$TMP/6m" \
		"$URL/v2/r/blobs/uploads/?digest=sha256:$(sha "$TMP/6m")")" 507
	[ -z "$(find "$INSIDE/root" -path '*_uploads/*' -type f)" ]
	# so a blob that fits goes in after it
	d=$(push_blob r "$TMP/3m")
	assert_equal "$(http_code -o /dev/null "$URL/v2/r/blobs/$d")" 200
	# a disk full before any byte: still no path in the answer, all of it
	# in the server's log
	head -c 4M /dev/zero >"$INSIDE/filler" 2>/dev/null || true
	code=$(http_code -X POST -H 'Content-Type: application/octet-stream' --data-binary @"$TMP/cfg" \
		"$URL/v2/r2/blobs/uploads/?digest=sha256:$(sha "$TMP/cfg")")
	assert_equal "$code" 507
	run cat "$TMP/body"
	refute_output --partial "$DISK"
	refute_output --partial "$TMP"
	grep -q 'status=507 detail=' "$TMP/ireg.log"
}

@test "http: manifest references that cannot exist are 404 MANIFEST_UNKNOWN; a bad tag PUT is TAG_INVALID" {
	start_ireg "$TMP/root"
	push_image r v1
	local ref
	for ref in -bad .x "$(printf 'a%.0s' {1..129})" 'sha256:zz' 'sha256:' 'md5:abc'; do
		assert_equal "$(http_code "$URL/v2/r/manifests/$ref")" 404
		assert_equal "$(err_code)" MANIFEST_UNKNOWN
		assert_equal "$(http_code -I "$URL/v2/r/manifests/$ref")" 404
		assert_equal "$(http_code -X DELETE "$URL/v2/r/manifests/$ref")" 404
	done
	assert_equal "$(http_code -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' \
		--data-binary @"$TMP/manifest" "$URL/v2/r/manifests/-bad")" 400
	assert_equal "$(err_code)" TAG_INVALID
	# a bad repository name is still a 400
	assert_equal "$(http_code "$URL/v2/Bad/manifests/v1")" 400
	assert_equal "$(err_code)" NAME_INVALID
}

@test "http: with auth, an anonymous request with a malformed name or reference is challenged before it is judged" {
	htpasswd -Bbc "$TMP/htpasswd" alice alicepw 2>/dev/null
	cat >"$TMP/config.json" <<-JSON
	{ "auth": { "htpasswd": "$TMP/htpasswd", "realm": "r",
	            "acl": [ {"user":"alice","repos":"**","actions":["*"]} ] } }
	JSON
	start_ireg "$TMP/root" --config "$TMP/config.json"
	local p
	for p in /v2/Bad/manifests/v1 /v2/a..b/tags/list /v2/r/manifests/-bad /v2/r/blobs/nodigest \
		/v2/r/blobs/uploads/not-a-uuid /v2/r/referrers/sha256:zz; do
		assert_equal "$(http_code "$URL$p")" 401
		assert_equal "$(err_code)" UNAUTHORIZED
		run header WWW-Authenticate
		assert_output --partial 'Basic realm="r"'
		[ "$(http_code -u alice:alicepw "$URL$p")" -ne 401 ]
	done
	assert_equal "$(http_code -u alice:alicepw "$URL/v2/Bad/manifests/v1")" 400
	assert_equal "$(http_code -u alice:alicepw "$URL/v2/r/manifests/-bad")" 404
	assert_equal "$(http_code -X DELETE "$URL/v2/r/manifests/-bad")" 401
	assert_equal "$(http_code -X PUT --data-binary x "$URL/v2/r/manifests/-bad")" 401
	assert_equal "$(http_code -u alice:alicepw -X PUT --data-binary x "$URL/v2/r/manifests/-bad")" 400
	assert_equal "$(err_code)" TAG_INVALID
	# a target no name can be read from (an escaped control byte) is a
	# 400 for everyone: it says nothing about any repository
	assert_equal "$(http_code "$URL/v2/r/manifests/v1%00x")" 400
}

@test "http: 401 answers keep the connection alive; two challenges cost one connection" {
	htpasswd -Bbc "$TMP/htpasswd" alice alicepw 2>/dev/null
	cat >"$TMP/config.json" <<-JSON
	{ "auth": { "htpasswd": "$TMP/htpasswd", "acl": [ {"user":"alice","repos":"**","actions":["*"]} ] } }
	JSON
	start_ireg "$TMP/root" --config "$TMP/config.json"
	run curl -sv -o /dev/null "$URL/v2/" -o /dev/null "$URL/v2/r/tags/list" -o /dev/null "$URL/v2/r/manifests/-x"
	assert_output --partial '< HTTP/1.1 401'
	assert_output --partial 'Re-using existing connection'
	refute_output --regexp '[Cc]onnection: close'
	[ "$(grep -c 'Connected to' <<<"$output")" -eq 1 ]
	# the same over raw HTTP: three answers on one connection, still open
	run bash -c "printf 'GET /v2/ HTTP/1.1\r\nHost: x\r\n\r\nHEAD /v2/r/manifests/v1 HTTP/1.1\r\nHost: x\r\n\r\nGET /v2/_catalog HTTP/1.1\r\nHost: x\r\n\r\n' | $RAW $PORT 1"
	[ "$(grep -o 'HTTP/1.1 401' <<<"$output" | wc -l)" -eq 3 ]
	assert_line '== open'
}

@test "http: a clean start prints only ireg's own line" {
	start_ireg "$TMP/root"
	assert_equal "$(http_code "$URL/v2/")" 200
	stop_ireg
	run cat "$TMP/ireg.err"
	assert_line --index 0 --regexp '^ireg: serving HTTP on 127\.0\.0\.1:0 \(port [0-9]+\), root '
	assert_line --index 1 --regexp '^ireg: .*draining'
	refute_output --partial MHD
	refute_output --partial libmicrohttpd
	[ "${#lines[@]}" -eq 3 ]
	run grep -v 'remote=' "$TMP/ireg.log"
	assert_output ''
}

# start_ireg_token USER PASSWORD: ireg issuing tokens (service "s") to
# USER, who may do anything under team/**.
start_ireg_token() {
	htpasswd -Bbc "$TMP/htpasswd" "$1" "$2" 2>/dev/null
	openssl ecparam -name prime256v1 -genkey -noout -out "$TMP/tok.key" 2>/dev/null
	cat >"$TMP/config.json" <<-JSON
	{ "auth": { "htpasswd": "$TMP/htpasswd", "acl": [ {"user":"$1","repos":"team/**","actions":["*"]} ],
	            "token": { "realm": "http://127.0.0.1/token", "service": "s", "key": "$TMP/tok.key" } } }
	JSON
	start_ireg "$TMP/root" --config "$TMP/config.json"
}

@test "http: /token logs the user it issued a token to" {
	start_ireg_token alice alicepw
	assert_equal "$(http_code -u alice:alicepw "$URL/token?service=s&scope=repository:team/a:pull")" 200
	grep -q 'user=alice method=GET path=/token ' "$TMP/ireg.log"
	assert_equal "$(http_code -d 'grant_type=password&username=alice&password=alicepw&service=s' "$URL/token")" 200
	grep -q 'user=alice method=POST path=/token ' "$TMP/ireg.log"
	assert_equal "$(http_code -u alice:wrong "$URL/token?service=s")" 401
	grep -q 'user=- method=GET path=/token .*status=401' "$TMP/ireg.log"
	# a token request body over the limit is 413
	head -c 70000 /dev/zero | tr '\0' a >"$TMP/big"
	assert_equal "$(http_code --data-binary @"$TMP/big" "$URL/token")" 413
}

@test "http: the token endpoint refuses scopes that name no valid repository" {
	start_ireg_token carol carolpw
	local s
	for s in 'team/../other/b' 'team/./b' 'team//b' 'team/B' 'team/b/' 'team/%2e%2e/x'; do
		assert_equal "$(http_code -u carol:carolpw -G --data-urlencode "scope=repository:$s:pull,push" \
			"$URL/token?service=s")" 400
		assert_equal "$(jq -r .error "$TMP/body")" invalid_scope
		run jq -r .error_description "$TMP/body"
		assert_output --partial "$s"
	done
	assert_equal "$(http_code -u carol:carolpw "$URL/token?service=s&scope=repository:team/b:pull,push")" 200
	assert_equal "$(jq -r .token "$TMP/body" | cut -d. -f2 | tr '_-' '/+' | base64 -d 2>/dev/null |
		jq -c '.access')" '[{"type":"repository","name":"team/b","actions":["pull","push"]}]'
}

@test "http: unknown keys in the config file refuse the start, naming the key's path" {
	htpasswd -Bbc "$TMP/htpasswd" alice alicepw 2>/dev/null
	local conf want
	while IFS='|' read -r conf want; do
		echo "$conf" >"$TMP/c.json"
		run "$IREG" serve --addr 127.0.0.1:0 --root "$TMP/root" --config "$TMP/c.json"
		assert_failure
		assert_output --partial "$TMP/c.json: $want"
	done <<-EOF
	{"auth": {"htpaswd": "$TMP/htpasswd"}}|auth.htpaswd: unknown key
	{"htpasswd": "$TMP/htpasswd"}|htpasswd: unknown key
	{"tls": {"cert": "a", "kye": "b"}}|tls.kye: unknown key
	{"tsl": {"cert": "a"}}|tsl: unknown key
	{"auth": {"htpasswd": "$TMP/htpasswd", "acl": [{"user": "a", "repos": "x", "actions": [], "action": 1}]}}|auth.acl[0].action: unknown key
	{"auth": {"token": {"realm": "http://x/t", "key": "k", "sevice": "s"}}}|auth.token.sevice: unknown key
	{"threads": "4"}|threads: want
	{"addr": 5000}|addr: expected
	{"tls": "x"}|tls: expected an object
	EOF
	# a good file still starts
	echo "{\"auth\": {\"htpasswd\": \"$TMP/htpasswd\"}, \"max_conns\": 64, \"timeout\": 30}" >"$TMP/c.json"
	start_ireg "$TMP/root" --config "$TMP/c.json"
	assert_equal "$(http_code "$URL/v2/")" 401
}
