#!/usr/bin/env bats
# ipull/ipush under faults: a redirecting blob endpoint (nginx) that must not
# see Authorization, a server killed mid-transfer (resume with Range, no
# partial blob left), 429 with Retry-After, 5xx until retries run out,
# corrupt blobs, and chunked uploads.

bats_require_minimum_version 1.5.0
load client-helpers

setup() {
	client_setup
	make_image "$TMP/lay" v1 512
	WANT=$(digest_of "$TMP/lay" v1)
	LAYER=$(jq -r '.layers[0].digest' "$TMP/lay/blobs/sha256/${WANT#sha256:}")
	write_fault_server
}
teardown() {
	stop_fault
	client_teardown
}

# A tiny read-only registry serving $TMP/lay with injected faults.
#   fault.py LAYOUT PORT MODE LOG MARKER
write_fault_server() {
	cat >"$TMP/fault.py" <<-'PY'
	import email.utils, http.server, json, os, sys, threading, time
	lay, port, mode, logf, marker = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
	busy = {"now": 0, "max": 0}
	busy_lock = threading.Lock()
	idx = json.load(open(lay + "/index.json"))
	tags = {m["annotations"]["org.opencontainers.image.ref.name"]: m for m in idx["manifests"]}
	seen = {}

	class H(http.server.BaseHTTPRequestHandler):
	    protocol_version = "HTTP/1.1"
	    def log_message(self, *a):
	        pass
	    def send(self, code, body=b"", headers={}):
	        self.send_response(code)
	        for k, v in headers.items():
	            self.send_header(k, v)
	        self.send_header("Content-Length", str(len(body)))
	        self.end_headers()
	        if self.command != "HEAD":
	            self.wfile.write(body)
	    def do_HEAD(self):
	        self.do_GET()
	    def do_GET(self):
	        with open(logf, "a") as f:
	            f.write("%s %s range=%s t=%.2f\n" % (self.command, self.path, self.headers.get("Range", "-"), time.time()))
	        n = seen.get(self.path, 0)
	        seen[self.path] = n + 1
	        if self.path == "/v2/":
	            return self.send(200, b"{}")
	        if mode == "429" and n == 0:
	            return self.send(429, b'{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}', {"Retry-After": "1"})
	        if mode == "429date" and n == 0:
	            when = email.utils.formatdate(time.time() + 2, usegmt=True)
	            return self.send(429, b'{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}', {"Retry-After": when})
	        if mode == "503":
	            return self.send(503, b'{"errors":[{"code":"UNAVAILABLE","message":"down for maintenance"}]}')
	        if not self.path.startswith("/v2/team/app/"):
	            return self.send(404, b'{"errors":[{"code":"NAME_UNKNOWN","message":"repository name not known to registry"}]}')
	        ref = self.path.rsplit("/", 1)[1]
	        if "/manifests/" in self.path:
	            dg = ref if ref.startswith("sha256:") else tags[ref]["digest"]
	            body = open(lay + "/blobs/sha256/" + dg[7:], "rb").read()
	            mt = json.loads(body).get("mediaType", "application/vnd.oci.image.manifest.v1+json")
	            return self.send(200, body, {"Content-Type": mt, "Docker-Content-Digest": dg})
	        if "/blobs/" in self.path:
	            body = open(lay + "/blobs/sha256/" + ref[7:], "rb").read()
	            rng = self.headers.get("Range")
	            big = len(body) > 65536
	            if mode in ("die", "die-norange", "die-plusrange", "die-shiftrange") and big and not os.path.exists(marker):
	                # Promise the whole blob, send part of it, and die.
	                open(marker, "w").close()
	                self.send_response(200)
	                self.send_header("Content-Length", str(len(body)))
	                self.end_headers()
	                self.wfile.write(body[: len(body) // 2])
	                self.wfile.flush()
	                os._exit(1)
	            if mode in ("slow", "slow-norange") and big and not os.path.exists(marker) and self.command == "GET":
	                # A throttled whole-blob answer (the client gets killed mid-way).
	                self.send_response(200)
	                self.send_header("Content-Length", str(len(body)))
	                self.end_headers()
	                for i in range(0, len(body), 16384):
	                    self.wfile.write(body[i:i + 16384])
	                    self.wfile.flush()
	                    time.sleep(0.03)
	                return
	            if mode == "concurrency" and self.command == "GET":
	                # Every blob takes a while; log how many are in flight.
	                with busy_lock:
	                    busy["now"] += 1
	                    busy["max"] = max(busy["max"], busy["now"])
	                    with open(logf, "a") as f:
	                        f.write("inflight=%d max=%d\n" % (busy["now"], busy["max"]))
	                time.sleep(0.3)
	                with busy_lock:
	                    busy["now"] -= 1
	                return self.send(200, body)
	            if mode == "corrupt" and big:
	                body = body[:-1] + bytes([body[-1] ^ 1])
	            if rng and mode in ("die-plusrange", "die-shiftrange"):
	                # The rest of the blob, but a Content-Range with a sign or
	                # one that claims to start a byte later.
	                start = int(rng[len("bytes="):].split("-")[0])
	                shown = "+%d" % start if mode == "die-plusrange" else "%d" % (start + 1)
	                return self.send(206, body[start:], {"Content-Range": "bytes %s-%d/%d" % (shown, len(body) - 1, len(body))})
	            if rng and mode not in ("die-norange", "slow-norange"):
	                start = int(rng[len("bytes="):].split("-")[0])
	                return self.send(206, body[start:], {"Content-Range": "bytes %d-%d/%d" % (start, len(body) - 1, len(body))})
	            return self.send(200, body)
	        self.send(404, b'{"errors":[{"code":"NAME_UNKNOWN","message":"repository name not known to registry"}]}')

	class S(http.server.ThreadingHTTPServer):
	    allow_reuse_address = True
	S(("127.0.0.1", port), H).serve_forever()
	PY
}

# start_fault MODE: the fault server on $FPORT, restarted whenever it dies;
# the restart loop runs in its own process group (killed as a whole).
start_fault() {
	FPORT=$(free_port)
	setsid bash -c 'while :; do "$4" "$1/fault.py" "$1/lay" "$2" "$3" "$1/fault.log" "$1/marker"; sleep 0.05; done' \
		_ "$TMP" "$FPORT" "$1" "$PY" >/dev/null 2>&1 &
	FAULT_PGID=$!
	wait_http "http://127.0.0.1:$FPORT/v2/" $FAULT_PGID || return 1
	: >"$TMP/fault.log"
	FAULT=127.0.0.1:$FPORT
}

stop_fault() {
	[ -n "${FAULT_PGID:-}" ] && kill -9 -- "-$FAULT_PGID" 2>/dev/null
	FAULT_PGID=
	return 0
}

@test "a server killed mid-blob: the pull resumes with Range and verifies" {
	start_fault die
	run --separate-stderr "$IPULL" --retry 8 --output oci:"$TMP/out":x "$FAULT/team/app:v1"
	assert_success
	assert_output "$FAULT/team/app@$WANT"
	[[ "$stderr" == *"Retrying"* ]]
	# The second request for the layer asked for the rest only.
	run grep -c "GET /v2/team/app/blobs/$LAYER range=bytes=[1-9][0-9]*-" "$TMP/fault.log"
	assert_output 1
	run "$IBUILD_TOOLS/ocilayout" validate --rehash "$TMP/out"
	assert_success
	no_partials "$TMP/out"
	stop_fault
}

@test "a resumed blob whose 206 Content-Range is malformed or starts elsewhere is refused, naming it" {
	# sscanf("bytes %lu-...") took "+N"; a part starting elsewhere was
	# written from offset 0 and only the digest check caught it.
	for mode in die-plusrange die-shiftrange; do
		rm -rf "$TMP/out" "$TMP/marker"
		start_fault "$mode"
		run --separate-stderr "$IPULL" --retry 8 --output oci:"$TMP/out":x "$FAULT/team/app:v1"
		assert_failure
		part=$(grep -o "GET /v2/team/app/blobs/$LAYER range=bytes=[1-9][0-9]*-" "$TMP/fault.log" | sed 's/.*=//; s/-$//')
		[ -n "$part" ]
		if [ "$mode" = die-plusrange ]; then
			[[ "$stderr" == *"206 for bytes=$part-"*"'bytes +$part-"* ]] || { echo "$stderr"; false; }
		else
			[[ "$stderr" == *"206 for bytes=$part- has Content-Range 'bytes $((part + 1))-"* ]] || { echo "$stderr"; false; }
		fi
		[ ! -e "$TMP/out/blobs/sha256/${LAYER#sha256:}" ]
		stop_fault
	done
}

@test "a server that restarts the blob from zero on resume is handled" {
	start_fault die-norange
	run --separate-stderr "$IPULL" --retry 8 --output oci:"$TMP/out":x "$FAULT/team/app:v1"
	assert_success
	run "$IBUILD_TOOLS/ocilayout" validate --rehash "$TMP/out"
	assert_success
	no_partials "$TMP/out"
	stop_fault
}

# Only the resumable partial download of the layer may be in blobs/.
only_layer_partial() {
	run find "$1/blobs" -name '.tmp-*'
	assert_output "$1/blobs/.tmp-pull-sha256-${LAYER#sha256:}"
}

@test "a killed transfer without retries stores nothing but a resumable partial; the next run resumes it" {
	start_fault die
	run "$IPULL" --retry 0 "$FAULT/team/app:v1"
	assert_failure
	assert_output --partial "GET http://$FAULT/v2/team/app/blobs/$LAYER"
	[ ! -e "$IBUILD_STORE/blobs/sha256/${LAYER#sha256:}" ]
	[ ! -e "$IBUILD_STORE/blobs/sha256/${WANT#sha256:}" ]
	run "$IBUILD_TOOLS/ocilayout" store-list "$IBUILD_STORE"
	refute_output --partial "$WANT"
	only_layer_partial "$IBUILD_STORE"
	part=$(stat -c %s "$IBUILD_STORE/blobs/.tmp-pull-sha256-${LAYER#sha256:}")
	[ "$part" -gt 0 ]
	# The fault server died with the transfer: wait for its restart.
	wait_http "http://$FAULT/v2/" "$FAULT_PGID"
	: >"$TMP/fault.log"
	run --separate-stderr "$IPULL" --retry 0 "$FAULT/team/app:v1"
	assert_success
	assert_output "$FAULT/team/app@$WANT"
	[[ "$stderr" == *"Resuming blob $LAYER"* ]]
	run grep -c "GET /v2/team/app/blobs/$LAYER range=bytes=$part-" "$TMP/fault.log"
	assert_output 1
	no_partials "$IBUILD_STORE"
	run "$IBUILD_TOOLS/ocilayout" validate --rehash "$IBUILD_STORE"
	assert_success
	stop_fault
}

# Start ipull on the throttled server, kill -9 it once the layer's partial
# download holds some bytes.
kill_mid_blob() {
	local part=$1/blobs/.tmp-pull-sha256-${LAYER#sha256:} pid i
	shift
	"$IPULL" "$@" >"$TMP/killed.out" 2>&1 &
	pid=$!
	for i in $(seq 200); do
		[ -f "$part" ] && [ "$(stat -c %s "$part")" -ge 65536 ] && break
		sleep 0.02
	done
	kill -9 "$pid"
	wait "$pid" 2>/dev/null || true
	[ -f "$part" ] && [ "$(stat -c %s "$part")" -ge 65536 ]
	[ ! -e "$1/blobs/sha256/${LAYER#sha256:}" ]
}

@test "ipull killed -9 mid-blob: a new run resumes with Range, exactly the right blobs, no temp left" {
	start_fault slow
	kill_mid_blob "$IBUILD_STORE" "$FAULT/team/app:v1"
	only_layer_partial "$IBUILD_STORE"
	touch "$TMP/marker" # the server is fast now
	: >"$TMP/fault.log"
	run --separate-stderr "$IPULL" "$FAULT/team/app:v1"
	assert_success
	assert_output "$FAULT/team/app@$WANT"
	[[ "$stderr" == *"Resuming blob $LAYER"* ]]
	# One request for the layer, for the rest only.
	run grep "GET /v2/team/app/blobs/$LAYER" "$TMP/fault.log"
	assert_equal "${#lines[@]}" 1
	assert_output --regexp "range=bytes=[1-9][0-9]{4,}-"
	no_partials "$IBUILD_STORE"
	run "$IBUILD_TOOLS/ocilayout" validate --rehash "$IBUILD_STORE"
	assert_success
	# Exactly the image's blobs: config, layer, manifest.
	config=$(jq -r .config.digest "$TMP/lay/blobs/sha256/${WANT#sha256:}")
	run bash -c "cd '$IBUILD_STORE/blobs/sha256' && ls | sort"
	assert_output "$(printf '%s\n' "${config#sha256:}" "${LAYER#sha256:}" "${WANT#sha256:}" | sort)"
	stop_fault
}

@test "a partial download from a killed run is restarted when the server ignores Range" {
	start_fault slow-norange
	kill_mid_blob "$TMP/out" --output oci:"$TMP/out":x "$FAULT/team/app:v1"
	touch "$TMP/marker"
	: >"$TMP/fault.log"
	run --separate-stderr "$IPULL" --output oci:"$TMP/out":x "$FAULT/team/app:v1"
	assert_success
	[[ "$stderr" == *"fetching $LAYER from the start"* ]]
	run grep -c "GET /v2/team/app/blobs/$LAYER range=bytes=" "$TMP/fault.log"
	assert_output 1
	no_partials "$TMP/out"
	run "$IBUILD_TOOLS/ocilayout" validate --rehash "$TMP/out"
	assert_success
	stop_fault
}

@test "stale temp files in blobs/ are swept; fresh ones and other files are kept" {
	start_fault ok
	mkdir -p "$TMP/out/blobs/sha256"
	echo x >"$TMP/out/blobs/.tmp-0123456789abcdef"             # a killed writer's, 2 h old
	touch -d '2 hours ago' "$TMP/out/blobs/.tmp-0123456789abcdef"
	echo x >"$TMP/out/blobs/.tmp-pull-sha256-$(printf '%064d' 1)" # a partial, 2 days old
	touch -d '2 days ago' "$TMP/out/blobs/.tmp-pull-sha256-$(printf '%064d' 1)"
	echo x >"$TMP/out/blobs/.tmp-fedcba9876543210"             # in use by someone
	echo x >"$TMP/out/blobs/.tmp-pull-sha256-$(printf '%064d' 2)" # recent: resumable later
	echo x >"$TMP/out/blobs/keep-me"
	run --separate-stderr "$IPULL" --output oci:"$TMP/out":x "$FAULT/team/app:v1"
	assert_success
	[[ "$stderr" == *"Removed 2 stale temp files"* ]]
	[ ! -e "$TMP/out/blobs/.tmp-0123456789abcdef" ]
	[ ! -e "$TMP/out/blobs/.tmp-pull-sha256-$(printf '%064d' 1)" ]
	[ -e "$TMP/out/blobs/.tmp-fedcba9876543210" ]
	[ -e "$TMP/out/blobs/.tmp-pull-sha256-$(printf '%064d' 2)" ]
	[ -e "$TMP/out/blobs/keep-me" ]
	stop_fault
}

@test "blobs are fetched concurrently, never more than --jobs at a time" {
	# Three more layers: five blobs with the config.
	for i in 1 2 3; do
		mkdir -p "$TMP/more$i"
		head -c 20000 /dev/urandom >"$TMP/more$i/f$i"
		umoci insert --image "$TMP/lay:v1" "$TMP/more$i" / >/dev/null
	done
	want=$(digest_of "$TMP/lay" v1)
	start_fault concurrency
	for jobs in 1 3; do
		: >"$TMP/fault.log"
		rm -rf "$TMP/out"
		run --separate-stderr "$IPULL" --jobs "$jobs" --output oci:"$TMP/out":x "$FAULT/team/app:v1"
		assert_success
		assert_output "$FAULT/team/app@$want"
		run grep -c "^GET /v2/team/app/blobs/" "$TMP/fault.log"
		assert_output 5
		run bash -c "grep -o 'inflight=[0-9]*' '$TMP/fault.log' | cut -d= -f2 | sort -n | tail -1"
		assert_output "$jobs"
		run "$IBUILD_TOOLS/ocilayout" validate --rehash "$TMP/out"
		assert_success
	done
	stop_fault
}

@test "a corrupt blob is refused and not stored" {
	start_fault corrupt
	run "$IPULL" --output oci:"$TMP/out":x "$FAULT/team/app:v1"
	assert_failure
	assert_output --partial "$LAYER"
	assert_output --partial "DIGEST_INVALID"
	[ ! -e "$TMP/out/blobs/sha256/${LAYER#sha256:}" ]
	no_partials "$TMP/out"
	stop_fault
}

@test "429 with Retry-After in seconds and as an HTTP date is honoured" {
	start_fault 429
	start=$(date +%s.%N)
	run --separate-stderr "$IPULL" --output oci:"$TMP/out":x "$FAULT/team/app:v1"
	assert_success
	end=$(date +%s.%N)
	[[ "$stderr" == *"after HTTP 429 in 1000 ms"* ]]
	python3 -c "import sys; sys.exit(0 if $end - $start >= 1.0 else 1)"
	stop_fault
	rm -rf "$TMP/out"
	start_fault 429date
	run --separate-stderr "$IPULL" --output oci:"$TMP/out":x "$FAULT/team/app:v1"
	assert_success
	[[ "$stderr" =~ after\ HTTP\ 429\ in\ [12][0-9][0-9][0-9]\ ms ]]
	stop_fault
}

@test "5xx until retries run out: the error names registry, request and message" {
	start_fault 503
	run "$IPULL" --retry 2 --output oci:"$TMP/out":x "$FAULT/team/app:v1"
	assert_failure
	assert_output --partial "registry $FAULT: GET http://$FAULT/v2/team/app/manifests/v1: HTTP 503: UNAVAILABLE: down for maintenance"
	run grep -c "GET /v2/team/app/manifests/v1" "$TMP/fault.log"
	assert_output 3
	stop_fault
}

@test "unknown repository: the registry's error code and message" {
	start_fault ok
	run "$IPULL" --output oci:"$TMP/out":x "$FAULT/nope/app:v1"
	assert_failure
	assert_output --partial "registry $FAULT: GET http://$FAULT/v2/nope/app/manifests/v1: HTTP 404: NAME_UNKNOWN: repository name not known to registry (NAME_UNKNOWN)"
	stop_fault
}

@test "redirected blobs never receive the Authorization header" {
	command -v nginx >/dev/null || fail "nginx is required"
	htpasswd -Bbn -C 5 alice wonderland >"$TMP/htpasswd"
	printf '{"auth":{"htpasswd":"%s"}}' "$TMP/htpasswd" >"$TMP/ireg.json"
	start_ireg --config "$TMP/ireg.json"
	run "$IPUSH" -q --creds alice:wonderland oci:"$TMP/lay":v1 "$IREG/team/app:v1"
	assert_success
	P1=$(free_port)
	P2=$(free_port)
	N=$TMP/ngx
	mkdir -p "$N"
	basic=$(printf alice:wonderland | base64 -w0)
	cat >"$N/nginx.conf" <<-CONF
		daemon off;
		master_process off;
		pid $N/nginx.pid;
		error_log $N/error.log;
		events {}
		http {
		  client_body_temp_path $N/body;
		  proxy_temp_path $N/proxy;
		  fastcgi_temp_path $N/fastcgi;
		  uwsgi_temp_path $N/uwsgi;
		  scgi_temp_path $N/scgi;
		  log_format auth '\$request_method \$request_uri auth=[\$http_authorization] \$status';
		  server {
		    listen 127.0.0.1:$P1;
		    access_log $N/front.log auth;
		    location ~ ^/v2/.+/blobs/sha256:[0-9a-f]+\$ {
		      if (\$request_method = GET) { return 307 http://127.0.0.1:$P2/storage\$request_uri; }
		      proxy_pass http://$IREG;
		    }
		    location / { proxy_pass http://$IREG; }
		  }
		  server {
		    listen 127.0.0.1:$P2;
		    access_log $N/storage.log auth;
		    location /storage/ {
		      if (\$http_authorization) { return 403; }
		      rewrite ^/storage(/.*)\$ \$1 break;
		      proxy_set_header Authorization "Basic $basic";
		      proxy_pass http://$IREG;
		    }
		  }
		}
	CONF
	nginx -p "$N" -c "$N/nginx.conf" -e "$N/error.log" &
	PIDS+=($!)
	wait_http "http://127.0.0.1:$P1/v2/" $! || { cat "$N/error.log"; false; }
	# The trap works: a client that forwards credentials is refused.
	run curl -s -o /dev/null -w '%{http_code}' -u alice:wonderland --location-trusted \
		"http://127.0.0.1:$P1/v2/team/app/blobs/$LAYER"
	assert_output 403
	run curl -s -o /dev/null -w '%{http_code}' -u alice:wonderland -L "http://127.0.0.1:$P1/v2/team/app/blobs/$LAYER"
	assert_output 200
	: >"$N/storage.log"
	run --separate-stderr "$IPULL" --creds alice:wonderland --output oci:"$TMP/out":x "127.0.0.1:$P1/team/app:v1"
	assert_success
	assert_output "127.0.0.1:$P1/team/app@$WANT"
	run "$IBUILD_TOOLS/ocilayout" validate --rehash "$TMP/out"
	assert_success
	# Both blobs came through the storage, without credentials.
	run grep -c "^GET /storage/v2/team/app/blobs/sha256:[0-9a-f]* auth=\[-\] 200" "$N/storage.log"
	assert_output 2
	run grep -c " 403$" "$N/storage.log" # the status, not a digest that holds 403
	assert_output 0
	# The registry itself did get them (the manifest request was authorised).
	run grep -c "GET /v2/team/app/manifests/v1 auth=\[Basic" "$N/front.log"
	assert_output 1
}

chunked() { # REGISTRY
	local reg=$1
	make_image "$TMP/lay" big 1536
	want=$(digest_of "$TMP/lay" big)
	IBUILD_CLIENT_CHUNK_THRESHOLD=100000 IBUILD_CLIENT_CHUNK_SIZE=300000 \
		run --separate-stderr "$IPUSH" oci:"$TMP/lay":big "$reg/team/big:1"
	assert_success
	assert_output "$reg/team/big@$want"
	assert_equal "$(raw_digest "$reg/team/big:1")" "$want"
	run skopeo copy --src-tls-verify=false "docker://$reg/team/big:1" "oci:$TMP/sk:big"
	assert_success
}

@test "large blobs go up in chunks (ireg)" {
	start_ireg
	chunked "$IREG"
	run grep -c "method=PATCH" "$TMP/ireg.log"
	[ "$output" -ge 5 ]
}

@test "large blobs go up in chunks (distribution)" {
	start_dist
	chunked "$DIST"
}
