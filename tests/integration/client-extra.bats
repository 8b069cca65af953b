#!/usr/bin/env bats
# More client behaviour: --list-tags follows tag-list pagination, and ipush
# keeps the referrers fallback tag on registries without the referrers API.

bats_require_minimum_version 1.5.0
load client-helpers

setup() { client_setup; }
teardown() { client_teardown; }

# A tiny registry that always pages its tag list N_PAGE at a time, whatever
# the client asks, with a relative Link header; every request is logged.
start_paging_registry() { # TAGFILE
	cat >"$TMP/pager.py" <<-'PY'
		import sys, urllib.parse
		from http.server import BaseHTTPRequestHandler, HTTPServer
		tags = open(sys.argv[1]).read().split()
		log = open(sys.argv[3], "a")
		class H(BaseHTTPRequestHandler):
		    def log_message(self, *a): pass
		    def do_GET(self):
		        log.write(self.path + "\n"); log.flush()
		        u = urllib.parse.urlsplit(self.path)
		        q = urllib.parse.parse_qs(u.query)
		        if u.path == "/v2/":
		            body = b"{}"; link = None
		        elif u.path == "/v2/page/app/tags/list":
		            last = q.get("last", [""])[0]
		            rest = [t for t in tags if t > last]
		            page = rest[:10]
		            link = None
		            if len(rest) > 10:
		                link = '</v2/page/app/tags/list?n=10&last=%s>; rel="next"' % page[-1]
		            import json
		            body = json.dumps({"name": "page/app", "tags": page}).encode()
		        else:
		            self.send_response(404); self.send_header("Content-Length", "0"); self.end_headers(); return
		        self.send_response(200)
		        self.send_header("Content-Type", "application/json")
		        self.send_header("Docker-Distribution-API-Version", "registry/2.0")
		        if link: self.send_header("Link", link)
		        self.send_header("Content-Length", str(len(body)))
		        self.end_headers(); self.wfile.write(body)
		s = HTTPServer(("127.0.0.1", 0), H)
		open(sys.argv[2], "w").write(str(s.server_address[1]))
		s.serve_forever()
	PY
	"$PY" "$TMP/pager.py" "$1" "$TMP/pager.port" "$TMP/pager.log" 2>"$TMP/pager.err" &
	PAGER_PID=$!
	PIDS+=("$PAGER_PID")
	local i
	for i in $(seq 100); do
		[ -s "$TMP/pager.port" ] && break
		sleep 0.05
	done
	PAGER=127.0.0.1:$(cat "$TMP/pager.port")
	wait_http "http://$PAGER/v2/" "$PAGER_PID"
}

@test "ipull --list-tags lists every tag of a paginated ireg tag list once, sorted" {
	start_ireg
	make_image "$TMP/lay" v1 4
	run "$IPUSH" -q oci:"$TMP/lay":v1 "$IREG/many/app:t00"
	assert_success
	# Tag it 24 more times, in shuffled order.
	curl -sf -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
		"http://$IREG/v2/many/app/manifests/t00" >"$TMP/m.json"
	for i in $(seq 1 24 | shuf); do
		curl -sf -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' \
			--data-binary @"$TMP/m.json" "http://$IREG/v2/many/app/manifests/$(printf 't%02d' "$i")" >/dev/null
	done
	seq 0 24 | xargs printf 't%02d\n' >"$TMP/want"

	# The server pages when asked: 10 + 10 + 5, linked by rel="next".
	run curl -sfD "$TMP/h1" "http://$IREG/v2/many/app/tags/list?n=10"
	assert_success
	assert_equal "$(jq -r '.tags | length' <<<"$output")" 10
	grep -qi '^link:.*rel="next"' "$TMP/h1"
	next=$(sed -n 's/^[Ll]ink: *<\([^>]*\)>.*/\1/p' "$TMP/h1")
	run curl -sf "http://$IREG$next"
	assert_success
	assert_equal "$(jq -r '.tags[0]' <<<"$output")" t10
	# The full unpaginated list.
	curl -sf "http://$IREG/v2/many/app/tags/list" | jq -r '.tags[]' >"$TMP/curl"
	run diff "$TMP/want" "$TMP/curl"
	assert_success

	run --separate-stderr "$IPULL" --list-tags "$IREG/many/app"
	assert_success
	assert_equal "$(printf '%s\n' "$output" | wc -l)" 25
	assert_output "$(cat "$TMP/curl")"
	assert_output "$(sort -u "$TMP/want")"
}

@test "ipull --list-tags follows Link pages it did not ask for" {
	seq 0 24 | xargs printf 't%02d\n' >"$TMP/tags"
	start_paging_registry "$TMP/tags"
	run --separate-stderr "$IPULL" --list-tags "$PAGER/page/app"
	assert_success
	assert_output "$(cat "$TMP/tags")"
	# Three pages were fetched: the first, then after t09 and after t19.
	run grep -c 'tags/list' "$TMP/pager.log"
	assert_output 3
	grep -q 'last=t09' "$TMP/pager.log"
	grep -q 'last=t19' "$TMP/pager.log"
}

# add_artifact LAYOUT NAME SUBJECT_NAME TYPE: an OCI artifact manifest
# (empty config, one small layer) whose subject is image SUBJECT_NAME of
# LAYOUT, named NAME; prints its digest.
add_artifact() {
	local lay=$1 name=$2 subj type=$4 ld lsz m d
	subj=$(jq -c --arg n "$3" '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"]==$n) | del(.annotations)' "$lay/index.json")
	printf '{}' >"$lay/blobs/sha256/44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
	echo "signature of $3 by $name" >"$TMP/layer"
	ld=$(sha "$TMP/layer")
	lsz=$(stat -c %s "$TMP/layer")
	cp "$TMP/layer" "$lay/blobs/sha256/$ld"
	jq -cn --argjson s "$subj" --arg t "$type" --arg ld "sha256:$ld" --argjson lsz "$lsz" '{
		schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json", artifactType: $t,
		config: {mediaType: "application/vnd.oci.empty.v1+json",
		         digest: "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a", size: 2},
		layers: [{mediaType: "application/octet-stream", digest: $ld, size: $lsz}],
		subject: {mediaType: $s.mediaType, digest: $s.digest, size: $s.size}}' | tr -d '\n' >"$TMP/art"
	d=$(sha "$TMP/art")
	cp "$TMP/art" "$lay/blobs/sha256/$d"
	jq --arg d "sha256:$d" --argjson s "$(stat -c %s "$TMP/art")" --arg n "$name" \
		'.manifests += [{mediaType: "application/vnd.oci.image.manifest.v1+json", digest: $d, size: $s,
		                annotations: {"org.opencontainers.image.ref.name": $n}}]' \
		"$lay/index.json" >"$TMP/i2" && mv "$TMP/i2" "$lay/index.json"
	echo "sha256:$d"
}

@test "ipush keeps the referrers fallback tag on CNCF distribution" {
	start_dist
	# This registry has no referrers API, so the fallback is needed.
	make_image "$TMP/lay" v1 4
	subject=$(digest_of "$TMP/lay" v1)
	run "$IPUSH" -q oci:"$TMP/lay":v1 "$DIST/sig/app:v1"
	assert_success
	run curl -s -o /dev/null -w '%{http_code}' "http://$DIST/v2/sig/app/referrers/$subject"
	refute_output 200
	art=$(add_artifact "$TMP/lay" sig1 v1 application/vnd.example.sig)
	run --separate-stderr "$IPUSH" -q oci:"$TMP/lay":sig1 "$DIST/sig/app@$art"
	assert_success
	assert_output "$DIST/sig/app@$art"
	fb=sha256-${subject#sha256:}

	run curl -sf "http://$DIST/v2/sig/app/tags/list"
	assert_success
	assert_equal "$(jq -r --arg t "$fb" '[.tags[] | select(. == $t)] | length' <<<"$output")" 1
	curl -sf -H 'Accept: application/vnd.oci.image.index.v1+json' -D "$TMP/h" \
		"http://$DIST/v2/sig/app/manifests/$fb" >"$TMP/fb.json"
	grep -qi '^content-type: application/vnd.oci.image.index.v1+json' "$TMP/h"
	assert_equal "$(jq -r .mediaType "$TMP/fb.json")" application/vnd.oci.image.index.v1+json
	assert_equal "$(jq -r '.manifests | length' "$TMP/fb.json")" 1
	assert_equal "$(jq -r '.manifests[0].digest' "$TMP/fb.json")" "$art"
	assert_equal "$(jq -r '.manifests[0].mediaType' "$TMP/fb.json")" application/vnd.oci.image.manifest.v1+json
	assert_equal "$(jq -r '.manifests[0].artifactType' "$TMP/fb.json")" application/vnd.example.sig
	assert_equal "$(jq -r '.manifests[0].size' "$TMP/fb.json")" "$(stat -c %s "$TMP/lay/blobs/sha256/${art#sha256:}")"
	# The artifact itself is there byte for byte.
	assert_equal "$(raw_digest "$DIST/sig/app@$art")" "$art"

	# A second referrer is added to the same index; the first stays; pushing
	# the first again does not duplicate it.
	art2=$(add_artifact "$TMP/lay" sig2 v1 application/vnd.example.sbom)
	run "$IPUSH" -q oci:"$TMP/lay":sig2 "$DIST/sig/app@$art2"
	assert_success
	run "$IPUSH" -q oci:"$TMP/lay":sig1 "$DIST/sig/app@$art"
	assert_success
	curl -sf -H 'Accept: application/vnd.oci.image.index.v1+json' \
		"http://$DIST/v2/sig/app/manifests/$fb" >"$TMP/fb.json"
	assert_equal "$(jq -r '[.manifests[].digest] | sort | join(" ")' "$TMP/fb.json")" \
		"$(printf '%s\n' "$art" "$art2" | sort | paste -sd' ')"
	assert_equal "$(jq -r --arg d "$art2" '.manifests[] | select(.digest == $d) | .artifactType' "$TMP/fb.json")" \
		application/vnd.example.sbom
}
