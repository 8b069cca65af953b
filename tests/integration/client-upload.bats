#!/usr/bin/env bats
# ipush's chunked uploads against a fake registry that misbehaves on
# purpose: one that refuses PATCH (fallback to a monolithic PUT), one that
# drops the connection mid-chunk once (resume from the upload's status, not
# from zero), and one that asks for a minimum chunk size
# (OCI-Chunk-Min-Length), and ones whose upload Range is malformed.  The
# fake stores what it is sent, checks the digest on the final PUT, and logs
# every request with its byte count.

bats_require_minimum_version 1.5.0
load client-helpers

setup() {
	client_setup
	make_image "$TMP/lay" v1 512
	WANT=$(digest_of "$TMP/lay" v1)
	LAYER=$(jq -r '.layers[0].digest' "$TMP/lay/blobs/sha256/${WANT#sha256:}")
	LAYER_SIZE=$(stat -c %s "$TMP/lay/blobs/sha256/${LAYER#sha256:}")
	write_upload_server
	# Chunked uploads for the layer (~512 KiB), in 64 KiB chunks.
	export IBUILD_CLIENT_CHUNK_THRESHOLD=100000 IBUILD_CLIENT_CHUNK_SIZE=65536
}
teardown() {
	client_teardown
}

#   upload.py PORT MODE STORE LOG
# MODE: ok | refuse-405 | refuse-400 | refuse-416 | drop | min | range-plus
# (every Range "0-+N") | range-wrap (drop, then a status Range of 2^64 - 1) |
# fail-first (a 500 for the first chunk, nothing stored: status says "0-0") |
# status-plus-one (drop, then status GETs say "0-N" for N bytes, as Quay's do)
write_upload_server() {
	cat >"$TMP/upload.py" <<-'PY'
	import hashlib, http.server, os, socket, sys, uuid
	port, mode, store, logf = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
	os.makedirs(store, exist_ok=True)
	uploads = {}
	state = {"patches": 0, "dropped": False}

	def log(line):
	    with open(logf, "a") as f:
	        f.write(line + "\n")

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
	    def err(self, code, ec, msg):
	        self.send(code, ('{"errors":[{"code":"%s","message":"%s"}]}' % (ec, msg)).encode())
	    def body(self):
	        n = int(self.headers.get("Content-Length") or 0)
	        return self.rfile.read(n) if n else b""
	    def upload_id(self):
	        return self.path.split("?")[0].rsplit("/", 1)[1]
	    def status_headers(self, u):
	        n = len(uploads[u])
	        rng = "0-%d" % (n - 1 if n else 0)
	        if mode == "range-plus":
	            rng = "0-+%d" % (n - 1 if n else 0)
	        if mode == "range-wrap" and state["dropped"]:
	            rng = "0-18446744073709551615"
	        return {"Location": "/v2/team/app/blobs/uploads/" + u, "Range": rng, "Docker-Upload-UUID": u}
	    def do_GET(self):
	        log("GET %s" % self.path)
	        if self.path == "/v2/":
	            return self.send(200, b"{}")
	        if "/blobs/uploads/" in self.path:
	            u = self.upload_id()
	            if u not in uploads:
	                return self.err(404, "BLOB_UPLOAD_UNKNOWN", "no such upload")
	            h = self.status_headers(u)
	            if mode == "status-plus-one":
	                h["Range"] = "0-%d" % len(uploads[u])
	            return self.send(204, b"", h)
	        self.err(404, "NAME_UNKNOWN", "unknown")
	    def do_HEAD(self):
	        log("HEAD %s" % self.path)
	        if "/blobs/sha256:" in self.path:
	            hexd = self.path.rsplit(":", 1)[1]
	            if os.path.exists(os.path.join(store, hexd)):
	                return self.send(200)
	        self.send(404)
	    def do_POST(self):
	        self.body()
	        u = uuid.uuid4().hex
	        uploads[u] = bytearray()
	        h = self.status_headers(u)
	        del h["Range"]
	        if mode == "min":
	            h["OCI-Chunk-Min-Length"] = "200000"
	        log("POST %s -> %s" % (self.path, u))
	        self.send(202, b"", h)
	    def do_PATCH(self):
	        u = self.upload_id()
	        n = int(self.headers.get("Content-Length") or 0)
	        cr = self.headers.get("Content-Range", "-")
	        state["patches"] += 1
	        if mode.startswith("refuse-"):
	            self.body()
	            log("PATCH %s len=%d cr=%s refused" % (u, n, cr))
	            code = int(mode.split("-")[1])
	            ec = {405: "UNSUPPORTED", 400: "BLOB_UPLOAD_INVALID", 416: "BLOB_UPLOAD_INVALID"}[code]
	            return self.err(code, ec, "chunked uploads are not supported")
	        if mode == "fail-first" and state["patches"] == 1:
	            self.body()
	            log("PATCH %s len=%d cr=%s got=0 failed" % (u, n, cr))
	            return self.err(500, "UNKNOWN", "storage hiccup")
	        if mode in ("drop", "range-wrap", "status-plus-one") and state["patches"] == 3 and not state["dropped"]:
	            # Take half the chunk, then lose the connection.
	            state["dropped"] = True
	            part = self.rfile.read(n // 2)
	            uploads[u] += part
	            log("PATCH %s len=%d cr=%s got=%d dropped" % (u, n, cr, len(part)))
	            self.connection.shutdown(socket.SHUT_RDWR)
	            self.close_connection = True
	            return
	        start = int(cr.split("-")[0]) if cr != "-" else len(uploads[u])
	        if start != len(uploads[u]):
	            self.body()
	            log("PATCH %s len=%d cr=%s out-of-order" % (u, n, cr))
	            return self.send(416, b"", self.status_headers(u))
	        data = self.body()
	        uploads[u] += data
	        log("PATCH %s len=%d cr=%s got=%d" % (u, n, cr, len(data)))
	        self.send(202, b"", self.status_headers(u))
	    def do_PUT(self):
	        data = self.body()
	        if "/manifests/" in self.path:
	            d = "sha256:" + hashlib.sha256(data).hexdigest()
	            open(os.path.join(store, "manifest-" + self.path.rsplit("/", 1)[1]), "wb").write(data)
	            log("PUT %s len=%d" % (self.path, len(data)))
	            return self.send(201, b"", {"Docker-Content-Digest": d})
	        u = self.upload_id()
	        want = self.path.split("digest=")[1]
	        uploads[u] += data
	        got = "sha256:" + hashlib.sha256(uploads[u]).hexdigest()
	        log("PUT %s len=%d total=%d digest=%s" % (u, len(data), len(uploads[u]), got))
	        if got != want:
	            return self.err(400, "DIGEST_INVALID", "got " + got)
	        open(os.path.join(store, got[7:]), "wb").write(uploads[u])
	        self.send(201, b"", {"Docker-Content-Digest": got})

	class S(http.server.ThreadingHTTPServer):
	    allow_reuse_address = True
	S(("127.0.0.1", port), H).serve_forever()
	PY
}

# start_upload MODE: sets UP (host:port).
start_upload() {
	local port
	port=$(free_port)
	rm -rf "$TMP/up-store"
	: >"$TMP/up.log"
	"$PY" "$TMP/upload.py" "$port" "$1" "$TMP/up-store" "$TMP/up.log" 2>"$TMP/up.err" &
	PIDS+=($!)
	wait_http "http://127.0.0.1:$port/v2/" $! || { cat "$TMP/up.err" >&2; return 1; }
	UP=127.0.0.1:$port
}

# The fake holds the layer, byte for byte.
layer_stored() {
	[ -f "$TMP/up-store/${LAYER#sha256:}" ]
	assert_equal "sha256:$(sha "$TMP/up-store/${LAYER#sha256:}")" "$LAYER"
	cmp "$TMP/up-store/${LAYER#sha256:}" "$TMP/lay/blobs/sha256/${LAYER#sha256:}"
}

@test "chunks go up in order and the fake registry accepts them (control)" {
	start_upload ok
	run --separate-stderr "$IPUSH" oci:"$TMP/lay":v1 "$UP/team/app:v1"
	assert_success
	assert_output "$UP/team/app@$WANT"
	layer_stored
	# ceil(size / 64 KiB) PATCHes for the layer, none bigger than a chunk.
	run grep -c "^PATCH .* got=" "$TMP/up.log"
	assert_output "$(((LAYER_SIZE + 65535) / 65536))"
	run awk '/^PATCH/ { sub("len=", "", $3); if ($3 > 65536) bad++ } END { print bad + 0 }' "$TMP/up.log"
	assert_output 0
}

@test "a registry refusing PATCH (405, 400, 416): ipush falls back to one monolithic PUT" {
	for code in 405 400 416; do
		start_upload "refuse-$code"
		run --separate-stderr "$IPUSH" oci:"$TMP/lay":v1 "$UP/team/app:v1"
		assert_success
		assert_output "$UP/team/app@$WANT"
		[[ "$stderr" == *"Registry refused chunks; uploading $LAYER in one piece"* ]]
		layer_stored
		# One refused PATCH, then the whole layer in the final PUT.
		run grep -c "^PATCH .*refused" "$TMP/up.log"
		assert_output 1
		run grep -c "^PUT [0-9a-f]* len=$LAYER_SIZE total=$LAYER_SIZE digest=$LAYER" "$TMP/up.log"
		assert_output 1
		kill -9 "${PIDS[-1]}"
	done
}

@test "a connection lost mid-chunk: ipush asks the upload's status and continues from there" {
	start_upload drop
	run --separate-stderr "$IPUSH" oci:"$TMP/lay":v1 "$UP/team/app:v1"
	assert_success
	assert_output "$UP/team/app@$WANT"
	[[ "$stderr" == *"Resuming upload of $LAYER"* ]]
	layer_stored
	# The status request came after the drop, on the same upload session.
	run grep -c "dropped" "$TMP/up.log"
	assert_output 1
	id=$(awk '/dropped/ { print $2 }' "$TMP/up.log")
	run grep -c "^GET /v2/team/app/blobs/uploads/$id" "$TMP/up.log"
	assert_output 1
	run grep -c "^POST" "$TMP/up.log"
	assert_output 2 # layer and config: no new session for the layer
	# Not restarted from zero: the bytes the server took add up to the layer
	# exactly (the half chunk it kept is not sent again), and the chunk after
	# the drop starts where the server's Range ended.
	run awk -v id="$id" '$1 == "PATCH" && $2 == id { sub("got=", "", $5); n += $5 } END { print n }' "$TMP/up.log"
	assert_output "$LAYER_SIZE"
	kept=$(awk '/dropped/ { sub("got=", "", $5); print $5 }' "$TMP/up.log")
	start=$(awk '/dropped/ { sub("cr=", "", $4); split($4, a, "-"); print a[1] }' "$TMP/up.log")
	run grep -c "^PATCH $id len=[0-9]* cr=$((start + kept))-" "$TMP/up.log"
	assert_output 1
}

@test "the first chunk failed with nothing stored: status '0-0' is ambiguous, so a new session" {
	# Registries answer "0-0" for an empty session as for a 1-byte one;
	# going on from byte 1 got 416s until the retries ran out.
	start_upload fail-first
	run --separate-stderr "$IPUSH" oci:"$TMP/lay":v1 "$UP/team/app:v1"
	assert_success
	assert_output "$UP/team/app@$WANT"
	[[ "$stderr" == *"Upload of $LAYER holds 0 or 1 bytes (Range 0-0); starting it again"* ]] || { echo "$stderr"; cat "$TMP/up.log"; false; }
	layer_stored
	id=$(awk '/ failed$/ { print $2 }' "$TMP/up.log")
	[ -n "$id" ]
	run grep -c "^GET /v2/team/app/blobs/uploads/$id" "$TMP/up.log"
	assert_output 1
	run grep -c "^POST" "$TMP/up.log"
	assert_output 3 # the layer twice, the config
	run grep -c "out-of-order" "$TMP/up.log"
	assert_output 0
}

@test "a status Range one past what the registry holds (Quay): the refused offset starts a new session" {
	start_upload status-plus-one
	run --separate-stderr "$IPUSH" oci:"$TMP/lay":v1 "$UP/team/app:v1"
	assert_success
	assert_output "$UP/team/app@$WANT"
	[[ "$stderr" == *"Registry refused the offset its upload status gave; starting the upload of $LAYER again"* ]] ||
		{ echo "$stderr"; false; }
	layer_stored
	# One status request, then one refused chunk at the offset it gave (after
	# curl's own re-send of the dropped one), then a new session: not a loop
	# of status requests until the retries run out.
	run grep -c "^GET /v2/team/app/blobs/uploads/" "$TMP/up.log"
	assert_output 1
	run awk '/^GET \/v2\/team\/app\/blobs\/uploads\// { after = 1; next } after && /out-of-order/ { n++ } END { print n + 0 }' "$TMP/up.log"
	assert_output 1
	run grep -c "^POST" "$TMP/up.log"
	assert_output 3
}

@test "OCI-Chunk-Min-Length raises the chunk size to the registry's minimum" {
	start_upload min
	run --separate-stderr "$IPUSH" oci:"$TMP/lay":v1 "$UP/team/app:v1"
	assert_success
	assert_output "$UP/team/app@$WANT"
	layer_stored
	# 200000-byte chunks (the client's own is 64 KiB); only the last is shorter.
	run awk '/^PATCH/ { sub("len=", "", $3); print $3 }' "$TMP/up.log"
	assert_equal "${#lines[@]}" "$(((LAYER_SIZE + 199999) / 200000))"
	for ((i = 0; i < ${#lines[@]} - 1; i++)); do
		assert_equal "${lines[i]}" 200000
	done
	[ "${lines[-1]}" -le 200000 ]
}

@test "a malformed upload Range (a sign, an end of 2^64 - 1) stops the push, naming it" {
	# sscanf("%lu") took "+65535" and the end + 1 wrapped to offset 0.
	start_upload range-plus
	run --separate-stderr "$IPUSH" oci:"$TMP/lay":v1 "$UP/team/app:v1"
	assert_failure
	[[ "$stderr" == *"pushing blob $LAYER"*"'0-+65535'"* ]] || { echo "$stderr"; false; }
	run grep -c "^PATCH .* got=" "$TMP/up.log"
	assert_output 1 # no chunk after the first answer
	[ ! -e "$TMP/up-store/${LAYER#sha256:}" ]
	kill -9 "${PIDS[-1]}"

	start_upload range-wrap
	run --separate-stderr "$IPUSH" oci:"$TMP/lay":v1 "$UP/team/app:v1"
	assert_failure
	[[ "$stderr" == *"pushing blob $LAYER"*"'0-18446744073709551615'"* ]] || { echo "$stderr"; false; }
	# The status request was the session's last: nothing sent after it.
	id=$(awk '/dropped/ { print $2 }' "$TMP/up.log")
	[ -n "$id" ]
	run awk -v id="$id" 'after && index($0, id) { n++ } $1 == "GET" && index($2, id) { after = 1 } END { print n + 0 }' \
		"$TMP/up.log"
	assert_output 0
	[ ! -e "$TMP/up-store/${LAYER#sha256:}" ]
}
