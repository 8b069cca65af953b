#!/usr/bin/env bats
# ireg on the S3 driver, against a real Ceph RADOS Gateway (one cluster for
# the file, two gateways): replicas on one bucket serve each other's
# pushes, uploads and tags; a chunked upload moves between replicas; a
# replica killed mid-push loses nothing complete; gc on the bucket;
# start-up and mid-run store failures; three replicas behind nginx round
# robin serving concurrent pushes and pulls.

bats_require_minimum_version 1.5.0
load ireg-helpers
load ceph-helpers

setup_file() {
	ceph_start 2
	export IREG_S3_BACKOFF_MS=20
}

teardown_file() {
	ceph_stop
}

setup() {
	ireg_setup
	PREFIX="s3t-$BATS_TEST_NUMBER-$RANDOM/"
	unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
}

teardown() { ireg_teardown; }

# start_replica VAR [ENDPOINT [JQ_FILTER]]: an ireg on the bucket under
# PREFIX, its config filtered by JQ_FILTER; sets VAR (its URL), VAR_PID and
# VAR_CONF.
start_replica() {
	local var=$1 ep=${2:-$S3_ENDPOINT} filter=${3:-.}
	ireg_s3_json "$PREFIX" "$ep" | jq "$filter" >"$TMP/$var.json"
	rm -f "$TMP/port"
	"$IREG" serve --addr 127.0.0.1:0 --port-file "$TMP/port" --log "$TMP/$var.log" \
		--config "$TMP/$var.json" 2>>"$TMP/ireg.err" &
	IREG_PID=$!
	IREG_PIDS+=("$IREG_PID")
	wait_ireg_port
	printf -v "$var" %s "$URL"
	printf -v "${var}_PID" %s "$IREG_PID"
	printf -v "${var}_CONF" %s "$TMP/$var.json"
}

two_replicas() {
	start_replica A "$S3_ENDPOINT"
	start_replica B "$S3_ENDPOINT2"
}

# same_blobs OUT LAYOUT: every blob of layout OUT is byte-identical in LAYOUT.
same_blobs() {
	local f n=0
	for f in "$1"/blobs/sha256/*; do
		cmp "$f" "$2/blobs/sha256/${f##*/}" || return 1
		n=$((n + 1))
	done
	[ "$n" -ge 3 ]
}

@test "ireg-s3: skopeo pushes through replica A, pulls through B byte-identically" {
	two_replicas
	make_image "$TMP/lay" v1 300
	run skopeo copy --dest-tls-verify=false "oci:$TMP/lay:v1" "docker://${A#http://}/team/app:v1"
	assert_success
	run skopeo copy --src-tls-verify=false "docker://${B#http://}/team/app:v1" "oci:$TMP/out:v1"
	assert_success
	same_blobs "$TMP/out" "$TMP/lay"
	a=$(skopeo inspect --tls-verify=false --raw "docker://${A#http://}/team/app:v1" | sha256sum)
	b=$(skopeo inspect --tls-verify=false --raw "docker://${B#http://}/team/app:v1" | sha256sum)
	assert_equal "$a" "$b"
	# Nothing on local disk: the replicas have no root.
	assert [ ! -e /var/lib/ireg/repos/team/app ]
}

# patch URL FILE START: one chunk; prints the status.
patch() {
	local end=$(($3 + $(stat -c %s "$2") - 1))
	curl -s -o "$TMP/body" -D "$TMP/headers" -w '%{http_code}' -X PATCH \
		-H 'Content-Type: application/octet-stream' -H "Content-Range: $3-$end" --data-binary @"$2" "$1"
}

@test "ireg-s3: a chunked upload started on A continues and finishes on B, digest verified" {
	two_replicas
	head -c 1048576 /dev/urandom >"$TMP/c1"
	head -c 6291456 /dev/urandom >"$TMP/c2"
	head -c 2097152 /dev/urandom >"$TMP/c3"
	head -c 3145728 /dev/urandom >"$TMP/c4"
	head -c 300000 /dev/urandom >"$TMP/c5"
	cat "$TMP"/c[1-5] >"$TMP/all"
	d=sha256:$(sha "$TMP/all")
	run http_code -X POST "$A/v2/chunk/blobs/uploads/"
	assert_output 202
	loc=$(header Location)
	loc=${loc#http://*/}
	loc=/${loc#/}
	run patch "$A$loc" "$TMP/c1" 0
	assert_output 202
	run patch "$B$loc" "$TMP/c2" 1048576
	assert_output 202
	assert_equal "$(header Range)" "0-7340031"
	# A wrong offset is refused, the session unchanged.
	run patch "$A$loc" "$TMP/c3" 5
	assert_output 416
	run patch "$A$loc" "$TMP/c3" 7340032
	assert_output 202
	run patch "$B$loc" "$TMP/c4" 9437184
	assert_output 202
	sep='?'; [[ $loc == *'?'* ]] && sep='&'
	run http_code "$A$loc"
	assert_output 204
	assert_equal "$(header Range)" "0-12582911"
	run http_code -X PUT -H 'Content-Type: application/octet-stream' --data-binary @"$TMP/c5" \
		"$B$loc${sep}digest=$d"
	assert_output 201
	curl -sf "$A/v2/chunk/blobs/$d" -o "$TMP/got"
	cmp "$TMP/got" "$TMP/all"
	# Ranges pass through.
	curl -sf -H 'Range: bytes=7340000-7340099' "$B/v2/chunk/blobs/$d" -o "$TMP/part"
	cmp "$TMP/part" <(tail -c +7340001 "$TMP/all" | head -c 100)
	# A long range from the middle: one ranged GET, then the rest streamed.
	curl -sf -H 'Range: bytes=1000001-' "$B/v2/chunk/blobs/$d" -o "$TMP/tail"
	cmp "$TMP/tail" <(tail -c +1000002 "$TMP/all")
	# The session is gone on both.
	run http_code "$A$loc"
	assert_output 404
	# A wrong final digest is refused: nothing appears under either digest
	# (and the handlers drop the session, as on the filesystem driver).
	run http_code -X POST "$A/v2/chunk/blobs/uploads/"
	loc=$(header Location)
	loc=${loc#http://*/}
	loc=/${loc#/}
	run patch "$A$loc" "$TMP/c2" 0
	assert_output 202
	run http_code -X PUT -H 'Content-Type: application/octet-stream' --data-binary @"$TMP/c1" \
		"$B$loc${sep}digest=sha256:$(sha "$TMP/c3")"
	assert_output 400
	assert_equal "$(err_code)" DIGEST_INVALID
	run http_code -I "$A/v2/chunk/blobs/sha256:$(sha "$TMP/c3")"
	assert_output 404
	run http_code -I "$A/v2/chunk/blobs/sha256:$(cat "$TMP/c2" "$TMP/c1" | sha256sum | cut -c1-64)"
	assert_output 404
}

@test "ireg-s3: kill -9 of A mid-push leaves B serving the completed image; the retry through B succeeds" {
	two_replicas
	make_image "$TMP/lay" small 100
	run skopeo copy --dest-tls-verify=false "oci:$TMP/lay:small" "docker://${A#http://}/k/small:v1"
	assert_success
	make_image "$TMP/big" big 65536
	skopeo copy --dest-tls-verify=false "oci:$TMP/big:big" "docker://${A#http://}/k/big:v1" \
		>"$TMP/push.out" 2>&1 &
	push=$!
	# Kill A once the big layer is on its way.
	for i in $(seq 200); do
		grep -q 'PATCH\|method=PATCH' "$TMP/A.log" 2>/dev/null && break
		sleep 0.05
	done
	sleep 0.3
	kill -9 "$A_PID"
	run wait "$push"
	assert_failure
	run skopeo copy --src-tls-verify=false "docker://${B#http://}/k/small:v1" "oci:$TMP/out:small"
	assert_success
	run skopeo copy --dest-tls-verify=false "oci:$TMP/big:big" "docker://${B#http://}/k/big:v1"
	assert_success
	run skopeo copy --src-tls-verify=false "docker://${B#http://}/k/big:v1" "oci:$TMP/out2:big"
	assert_success
	same_blobs "$TMP/out2" "$TMP/big"
}

put_manifest() { # URL REPO REF FILE
	curl -sf -X PUT -H "Content-Type: application/vnd.oci.image.manifest.v1+json" --data-binary @"$4" \
		"$1/v2/$2/manifests/$3" >/dev/null
}

@test "ireg-s3: tags and _catalog page across replicas; DELETE of a tag and a manifest" {
	two_replicas
	printf cfg >"$TMP/cfg"
	printf layer >"$TMP/layer"
	for r in pa/one pa/two pb; do
		URL=$A
		c=$(push_blob "$r" "$TMP/cfg")
		l=$(push_blob "$r" "$TMP/layer")
	done
	manifest_for "$c" 3 "$l" 5 >"$TMP/m"
	md=sha256:$(sha "$TMP/m")
	for t in t1 t2 t3 t4 t5; do put_manifest "$A" pa/one "$t" "$TMP/m"; done
	put_manifest "$A" pa/two v1 "$TMP/m"
	put_manifest "$A" pb v1 "$TMP/m"
	run curl -sf "$B/v2/pa/one/tags/list?n=2"
	assert_output '{"name":"pa/one","tags":["t1","t2"]}'
	run curl -sf "$B/v2/pa/one/tags/list?n=2&last=t2"
	assert_output '{"name":"pa/one","tags":["t3","t4"]}'
	run curl -sf "$B/v2/pa/one/tags/list?n=2&last=t4"
	assert_output '{"name":"pa/one","tags":["t5"]}'
	run curl -sf "$B/v2/_catalog?n=2"
	assert_output '{"repositories":["pa/one","pa/two"]}'
	run curl -sf "$B/v2/_catalog?n=2&last=pa/two"
	assert_output '{"repositories":["pb"]}'
	run http_code "$B/v2/nope/tags/list"
	assert_output 404
	# DELETE a tag through B: gone on A, the others stay.
	run http_code -X DELETE "$B/v2/pa/one/manifests/t3"
	assert_output 202
	run http_code "$A/v2/pa/one/manifests/t3"
	assert_output 404
	run curl -sf "$A/v2/pa/one/tags/list"
	assert_output '{"name":"pa/one","tags":["t1","t2","t4","t5"]}'
	# DELETE the manifest through A: its tags go with it, on B too.
	run http_code -X DELETE "$A/v2/pa/one/manifests/$md"
	assert_output 202
	run http_code "$B/v2/pa/one/manifests/$md"
	assert_output 404
	run http_code "$B/v2/pa/one/manifests/t1"
	assert_output 404
	run http_code "$B/v2/pa/two/manifests/v1"
	assert_output 200
}

@test "ireg-s3: ireg gc on the bucket removes an unreferenced blob and keeps referenced ones" {
	start_replica A
	printf cfg >"$TMP/cfg"
	printf layer >"$TMP/layer"
	printf orphan >"$TMP/orphan"
	URL=$A
	c=$(push_blob app "$TMP/cfg")
	l=$(push_blob app "$TMP/layer")
	o=$(push_blob app "$TMP/orphan")
	manifest_for "$c" 3 "$l" 5 >"$TMP/m"
	put_manifest "$A" app v1 "$TMP/m"
	# A stale upload session, with a buffered chunk.
	run http_code -X POST "$A/v2/app/blobs/uploads/"
	loc=$(header Location)
	loc=${loc#http://*/}
	loc=/${loc#/}
	run patch "$A$loc" "$TMP/orphan" 0
	assert_output 202
	run "$IREG" gc --config "$A_CONF" --grace 0s --upload-max-age 0s
	assert_success
	assert_output --partial "1 blobs ("
	assert_output --partial "1 upload sessions deleted"
	run http_code "$A$loc"
	assert_output 404
	run http_code -I "$A/v2/app/blobs/$o"
	assert_output 404
	run curl -sf "$A/v2/app/blobs/$l"
	assert_output layer
	run curl -sf "$A/v2/app/blobs/$c"
	assert_output cfg
	run http_code "$A/v2/app/manifests/v1"
	assert_output 200
}

@test "ireg-s3: start-up errors are one line naming the endpoint and bucket" {
	ireg_s3_json "$PREFIX" | jq '.storage.s3.secret_key = "wrong"' >"$TMP/bad-secret.json"
	run -1 "$IREG" serve --addr 127.0.0.1:0 --config "$TMP/bad-secret.json"
	assert_equal "${#lines[@]}" 1
	assert_output --partial "$S3_ENDPOINT"
	assert_output --partial "$S3_BUCKET"
	refute_output --partial wrong
	ireg_s3_json "$PREFIX" | jq '.storage.s3.bucket = "no-such-bucket"' >"$TMP/no-bucket.json"
	run -1 "$IREG" serve --addr 127.0.0.1:0 --config "$TMP/no-bucket.json"
	assert_equal "${#lines[@]}" 1
	assert_output --partial "$S3_ENDPOINT"
	assert_output --partial no-such-bucket
	port=$(ceph_free_port)
	ireg_s3_json "$PREFIX" "http://127.0.0.1:$port" >"$TMP/dead.json"
	run -1 "$IREG" serve --addr 127.0.0.1:0 --config "$TMP/dead.json"
	assert_equal "${#lines[@]}" 1
	assert_output --partial "127.0.0.1:$port"
	assert_output --partial "$S3_BUCKET"
	# Unknown keys are refused; the bucket is required.
	ireg_s3_json "$PREFIX" | jq '.storage.s3.bukket = "x"' >"$TMP/typo.json"
	run -1 "$IREG" serve --addr 127.0.0.1:0 --config "$TMP/typo.json"
	assert_output --partial "storage.s3.bukket: unknown key"
	ireg_s3_json "$PREFIX" | jq 'del(.storage.s3.bucket)' >"$TMP/nob.json"
	run -1 "$IREG" serve --addr 127.0.0.1:0 --config "$TMP/nob.json"
	assert_output --partial "storage.s3.bucket: required"
}

@test "ireg-s3: credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY when the file has none" {
	export AWS_ACCESS_KEY_ID=$S3_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$S3_SECRET_KEY
	start_replica A "$S3_ENDPOINT" 'del(.storage.s3.access_key, .storage.s3.secret_key)'
	printf hello >"$TMP/f"
	URL=$A
	d=$(push_blob envrepo "$TMP/f")
	run curl -sf "$A/v2/envrepo/blobs/$d"
	assert_output hello
	run grep -c "$S3_SECRET_KEY" "$TMP/A.log" "$TMP/ireg.err"
	refute_output --partial ':1'
}

@test "ireg-s3: a store outage mid-run answers 503 with JSON errors, and serving resumes" {
	start_replica A
	printf hello >"$TMP/f"
	URL=$A
	d=$(push_blob outage "$TMP/f")
	# A TCP forwarder the test controls stands between the replica and RGW.
	port=$(ceph_free_port)
	cat >"$TMP/fwd.py" <<-'PY'
	import socket, sys, threading
	def pipe(a, b):
	    try:
	        while True:
	            d = a.recv(65536)
	            if not d:
	                break
	            b.sendall(d)
	    except OSError:
	        pass
	    for s in (a, b):
	        try:
	            s.shutdown(socket.SHUT_RDWR)
	        except OSError:
	            pass
	host, port = sys.argv[2].split(":")
	ls = socket.socket()
	ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
	ls.bind(("127.0.0.1", int(sys.argv[1])))
	ls.listen(64)
	while True:
	    c, _ = ls.accept()
	    u = socket.create_connection((host, int(port)))
	    for a, b in ((c, u), (u, c)):
	        threading.Thread(target=pipe, args=(a, b), daemon=True).start()
	PY
	"$CEPH_PY" "$TMP/fwd.py" "$port" "${S3_ENDPOINT#http://}" &
	proxy=$!
	for i in $(seq 50); do curl -s "http://127.0.0.1:$port/" >/dev/null && break; sleep 0.1; done
	start_replica P "http://127.0.0.1:$port"
	run curl -sf "$P/v2/outage/blobs/$d"
	assert_output hello
	kill "$proxy"
	wait "$proxy" 2>/dev/null || true
	for what in "blobs/$d" "manifests/v1" "tags/list"; do
		run http_code "$P/v2/outage/$what"
		assert_output 503
		run jq -r '.errors[0].code' "$TMP/body"
		assert_output UNAVAILABLE
	done
	run http_code -X POST "$P/v2/outage/blobs/uploads/"
	assert_output 503
	run http_code "$P/v2/_catalog"
	assert_output 503
	"$CEPH_PY" "$TMP/fwd.py" "$port" "${S3_ENDPOINT#http://}" &
	proxy=$!
	for i in $(seq 50); do curl -s "http://127.0.0.1:$port/" >/dev/null && break; sleep 0.1; done
	run curl -sf "$P/v2/outage/blobs/$d"
	assert_output hello
	kill "$proxy"
}

@test "ireg-s3: redirect mode answers blob GETs with 307 to a presigned URL; skopeo and ipull follow it" {
	start_replica A
	start_replica R "$S3_ENDPOINT" '.storage.s3.redirect = true'
	make_image "$TMP/lay" v1 200
	run skopeo copy --dest-tls-verify=false "oci:$TMP/lay:v1" "docker://${A#http://}/red/app:v1"
	assert_success
	printf hello >"$TMP/f"
	URL=$A
	d=$(push_blob red/app "$TMP/f")
	run http_code "$R/v2/red/app/blobs/$d"
	assert_output 307
	loc=$(header Location)
	assert [ "${loc#"$S3_ENDPOINT"/}" != "$loc" ]
	assert [ "${loc/X-Amz-Signature=/}" != "$loc" ]
	# The URL works without credentials, Range included; HEAD is not redirected.
	run curl -sf "$loc"
	assert_output hello
	run curl -sf -H 'Range: bytes=1-3' "$loc"
	assert_output ell
	run http_code -I "$R/v2/red/app/blobs/$d"
	assert_output 200
	run http_code "$R/v2/red/app/blobs/sha256:$(printf nope | sha256sum | cut -c1-64)"
	assert_output 404
	run skopeo copy --src-tls-verify=false "docker://${R#http://}/red/app:v1" "oci:$TMP/out:v1"
	assert_success
	same_blobs "$TMP/out" "$TMP/lay"
	run --separate-stderr "${IBUILD_BUILD:-$PWD/build}/bin/ipull" -q --output "oci:$TMP/out2:v1" \
		"${R#http://}/red/app:v1"
	assert_success
	same_blobs "$TMP/out2" "$TMP/lay"
	grep -q 'status=307' "$TMP/R.log"
}

# lb_nginx PORT UPSTREAM...: nginx on 127.0.0.1:PORT proxying round robin
# (no stickiness) to the UPSTREAM host:ports, streaming bodies both ways;
# its access log, $TMP/ngx/access.log, names the replica of every request.
lb_nginx() {
	local port=$1 u servers= n=$TMP/ngx i
	shift
	for u in "$@"; do servers+="server $u max_fails=0; "; done
	mkdir -p "$n"
	cat >"$n/nginx.conf" <<-CONF
		daemon off;
		master_process off;
		pid $n/nginx.pid;
		error_log $n/error.log;
		events { worker_connections 256; }
		http {
		  client_body_temp_path $n/body;
		  proxy_temp_path $n/proxy;
		  fastcgi_temp_path $n/fastcgi;
		  uwsgi_temp_path $n/uwsgi;
		  scgi_temp_path $n/scgi;
		  log_format lb '\$request_method \$request_uri \$status up=\$upstream_addr loc=\$sent_http_location';
		  upstream replicas { $servers}
		  server {
		    listen 127.0.0.1:$port;
		    access_log $n/access.log lb;
		    client_max_body_size 0;
		    proxy_request_buffering off;
		    proxy_buffering off;
		    proxy_http_version 1.1;
		    proxy_set_header Host \$http_host;
		    proxy_next_upstream off;
		    location / { proxy_pass http://replicas; }
		  }
		}
	CONF
	nginx -p "$n" -c "$n/nginx.conf" -e "$n/error.log" 3>&- &
	IREG_PIDS+=($!)
	for i in $(seq 100); do
		curl -s -o /dev/null "http://127.0.0.1:$port/v2/" && return 0
		kill -0 "$!" 2>/dev/null || break
		sleep 0.05
	done
	cat "$n/error.log" >&2
	return 1
}

@test "ireg-s3: three replicas behind nginx round robin: 8 concurrent skopeo pushes and pulls of distinct images, all intact" {
	command -v nginx >/dev/null || fail "nginx is required"
	start_replica A "$S3_ENDPOINT"
	start_replica B "$S3_ENDPOINT2"
	start_replica C "$S3_ENDPOINT"
	port=$(ceph_free_port)
	lb_nginx "$port" "${A#http://}" "${B#http://}" "${C#http://}"
	LB=127.0.0.1:$port
	# Distinct images of 1.5 to 8.5 MiB (random, so the gzip layers stay
	# that big): the four above 5 MiB go to the store in multipart parts.
	for i in $(seq 8); do make_image "$TMP/lay$i" "v$i" $((512 + i * 1024)); done
	pids=()
	for i in $(seq 8); do
		skopeo copy --dest-tls-verify=false "oci:$TMP/lay$i:v$i" "docker://$LB/lb/app$i:v$i" \
			>"$TMP/push$i.out" 2>&1 &
		pids+=($!)
	done
	bad=
	for i in $(seq 8); do wait "${pids[i - 1]}" || bad+=" push$i"; done
	[ -z "$bad" ] || { cat "$TMP"/push*.out "$TMP/ngx/error.log"; fail "failed:$bad"; }
	pids=()
	for i in $(seq 8); do
		skopeo copy --src-tls-verify=false "docker://$LB/lb/app$i:v$i" "oci:$TMP/out$i:v$i" \
			>"$TMP/pull$i.out" 2>&1 &
		pids+=($!)
	done
	for i in $(seq 8); do wait "${pids[i - 1]}" || bad+=" pull$i"; done
	[ -z "$bad" ] || { cat "$TMP"/pull*.out "$TMP/ngx/error.log"; fail "failed:$bad"; }
	for i in $(seq 8); do
		want=$(jq -r '.manifests[0].digest' "$TMP/lay$i/index.json")
		assert_equal "$(jq -r '.manifests[0].digest' "$TMP/out$i/index.json")" "$want"
		skopeo inspect --tls-verify=false --raw "docker://$LB/lb/app$i:v$i" >"$TMP/m$i"
		assert_equal "sha256:$(sha "$TMP/m$i")" "$want"
		run "$IBUILD_TOOLS/ocilayout" validate --rehash "$TMP/out$i"
		assert_success
		same_blobs "$TMP/out$i" "$TMP/lay$i"
	done
	# Round robin really spread the work: every replica served uploads and
	# downloads, and upload sessions moved between replicas mid-way.
	log=$TMP/ngx/access.log
	for r in "$A" "$B" "$C"; do
		assert [ "$(grep -Ec "^(POST|PATCH|PUT) /v2/lb/.*/blobs/uploads/.* up=${r#http://} " "$log")" -ge 1 ]
		assert [ "$(grep -Ec "^GET /v2/lb/.* 200 up=${r#http://} " "$log")" -ge 1 ]
	done
	# Sessions by the id in the URI (PATCH, PUT) or in the Location of the
	# POST's answer; count those served by more than one replica.
	moved=$(awk '{
		if (!match($0, /uploads\/[^?\/ ]+/)) next
		s = substr($0, RSTART + 8, RLENGTH - 8)
		if (!match($0, /up=[^ ]+/)) next
		k = s " " substr($0, RSTART + 3, RLENGTH - 3)
		if (!(k in seen)) { seen[k] = 1; n[s]++ }
	} END { m = 0; for (s in n) if (n[s] > 1) m++; print m }' "$log")
	assert [ "$moved" -ge 4 ]
	# No request failed on the way (skopeo's TLS probes show as 400s
	# without an upstream).
	run grep -c ' 5[0-9][0-9] up=' "$log"
	assert_output 0
}
