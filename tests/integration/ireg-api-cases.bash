# The ireg API cases (every endpoint and error path with curl: status, error
# code in the JSON body, headers), shared by ireg-api.bats (filesystem driver)
# and ireg-api-s3.bats (S3 driver on Ceph, IREG_DRIVER=s3): the same cases on
# both, through start_ireg's driver switch (ireg-helpers.bash).

setup() {
	ireg_setup
	start_ireg "$TMP/root"
	printf 'config-bytes' >"$TMP/cfg"
	head -c 100000 /dev/urandom >"$TMP/layer"
}
teardown() { ireg_teardown; }

push_image() { # REPO TAG -> sets MDIGEST, writes $TMP/manifest
	cd_=$(push_blob "$1" "$TMP/cfg")
	ld_=$(push_blob "$1" "$TMP/layer")
	manifest_for "$cd_" 12 "$ld_" 100000 >"$TMP/manifest"
	MDIGEST=sha256:$(sha "$TMP/manifest")
	curl -sf -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' \
		--data-binary @"$TMP/manifest" "$URL/v2/$1/manifests/$2" >/dev/null
}

# base endpoint, health, metrics, unknown paths and methods
api_base_health_metrics() {
	assert_equal "$(http_code "$URL/v2/")" 200
	assert_equal "$(header Docker-Distribution-API-Version)" registry/2.0
	assert_equal "$(cat "$TMP/body")" "{}"
	assert_equal "$(http_code "$URL/healthz")" 200
	assert_equal "$(http_code "$URL/nope")" 404
	assert_equal "$(header Docker-Distribution-API-Version)" registry/2.0
	assert_equal "$(http_code -X POST "$URL/v2/x/tags/list")" 405
	assert_equal "$(err_code)" UNSUPPORTED
	assert_equal "$(http_code -X OPTIONS "$URL/v2/")" 405
	assert_equal "$(http_code "$URL/v2/Bad/tags/list")" 400
	assert_equal "$(err_code)" NAME_INVALID
	assert_equal "$(http_code "$URL/v2/a/blobs/sha256:123")" 400
	assert_equal "$(err_code)" DIGEST_INVALID
	# A reference that cannot name a manifest names no manifest.
	assert_equal "$(http_code "$URL/v2/a/manifests/-x")" 404
	assert_equal "$(err_code)" MANIFEST_UNKNOWN
	# An error quoting invalid UTF-8 from the request: each bad byte becomes
	# '?', the rest of the message is kept.
	assert_equal "$(http_code "$URL/v2/a/manifests/$(printf 'a\xffb')")" 404
	assert_equal "$(jq -r '.errors[0].message' "$TMP/body")" "manifest unknown to a: invalid tag 'a?b'"
	push_blob m/a "$TMP/cfg" >/dev/null
	assert_equal "$(http_code "$URL/metrics")" 200
	run grep -E '^ireg_http_requests_total\{route="uploads",status="201"\} 1$' "$TMP/body"
	assert_success
	run grep -E '^ireg_storage_used_bytes 12$' "$TMP/body"
	assert_success
	run grep -E '^ireg_http_received_bytes_total 12$' "$TMP/body"
	assert_success
	# One structured line per request.
	run grep -c 'method=GET path=/v2/ route=base status=200' "$TMP/ireg.log"
	assert_output 1
}

# monolithic blob upload, GET, HEAD, Range, DELETE
api_monolithic_upload() {
	d=sha256:$(sha "$TMP/layer")
	assert_equal "$(http_code -X POST --data-binary @"$TMP/layer" "$URL/v2/lib/a/blobs/uploads/?digest=$d")" 201
	assert_equal "$(header Location)" "/v2/lib/a/blobs/$d"
	assert_equal "$(header Docker-Content-Digest)" "$d"
	assert_equal "$(http_code "$URL/v2/lib/a/blobs/$d")" 200
	cmp "$TMP/body" "$TMP/layer"
	assert_equal "$(http_code -I "$URL/v2/lib/a/blobs/$d")" 200
	assert_equal "$(header Content-Length)" 100000
	assert_equal "$(header Docker-Content-Digest)" "$d"
	assert_equal "$(http_code -H 'Range: bytes=10-19' "$URL/v2/lib/a/blobs/$d")" 206
	assert_equal "$(header Content-Range)" "bytes 10-19/100000"
	cmp "$TMP/body" <(tail -c +11 "$TMP/layer" | head -c 10)
	assert_equal "$(http_code -H 'Range: bytes=-5' "$URL/v2/lib/a/blobs/$d")" 206
	cmp "$TMP/body" <(tail -c 5 "$TMP/layer")
	assert_equal "$(http_code -H 'Range: bytes=100000-' "$URL/v2/lib/a/blobs/$d")" 416
	assert_equal "$(header Content-Range)" "bytes */100000"
	# The spec's closed code list has no range code: UNSUPPORTED, message says why.
	assert_equal "$(err_code)" UNSUPPORTED
	run jq -r '.errors[0].message' "$TMP/body"
	assert_output --partial 'range not satisfiable: bytes=100000-'
	assert_equal "$(http_code -H 'Range: bytes=200000-300000' "$URL/v2/lib/a/blobs/$d")" 416
	assert_equal "$(err_code)" UNSUPPORTED
	# Another repository does not hold it.
	assert_equal "$(http_code "$URL/v2/lib/b/blobs/$d")" 404
	assert_equal "$(err_code)" BLOB_UNKNOWN
	# Wrong digest: refused, nothing stored.
	bad=sha256:$(printf x | sha256sum | cut -d' ' -f1)
	assert_equal "$(http_code -X POST --data-binary @"$TMP/cfg" "$URL/v2/lib/a/blobs/uploads/?digest=$bad")" 400
	assert_equal "$(err_code)" DIGEST_INVALID
	assert_equal "$(http_code "$URL/v2/lib/a/blobs/$bad")" 404
	assert_equal "$(http_code -X POST "$URL/v2/lib/a/blobs/uploads/?digest=sha256:nothex")" 400
	assert_equal "$(err_code)" DIGEST_INVALID
	assert_equal "$(http_code -X DELETE "$URL/v2/lib/a/blobs/$d")" 202
	assert_equal "$(http_code "$URL/v2/lib/a/blobs/$d")" 404
	assert_equal "$(http_code -X DELETE "$URL/v2/lib/a/blobs/$d")" 404
	assert_equal "$(err_code)" BLOB_UNKNOWN
}

# chunked upload: PATCH with Content-Range, out of order 416, status, streamed PATCH, PUT with last chunk
api_chunked_upload() {
	head -c 30000 "$TMP/layer" >"$TMP/c1"
	tail -c +30001 "$TMP/layer" | head -c 30000 >"$TMP/c2"
	tail -c +60001 "$TMP/layer" | head -c 20000 >"$TMP/c3"
	tail -c +80001 "$TMP/layer" >"$TMP/c4"
	d=sha256:$(sha "$TMP/layer")
	assert_equal "$(http_code -X POST "$URL/v2/up/blobs/uploads/")" 202
	loc=$(header Location)
	uuid=$(header Docker-Upload-UUID)
	assert_equal "$loc" "/v2/up/blobs/uploads/$uuid"
	assert_equal "$(header Range)" 0-0
	assert_equal "$(http_code -X PATCH -H 'Content-Range: 0-29999' -H 'Content-Type: application/octet-stream' --data-binary @"$TMP/c1" "$URL$loc")" 202
	assert_equal "$(header Range)" 0-29999
	assert_equal "$(header Location)" "$loc"
	# Out of order / overlapping: 416 and where we are.
	assert_equal "$(http_code -X PATCH -H 'Content-Range: 40000-69999' --data-binary @"$TMP/c2" "$URL$loc")" 416
	assert_equal "$(header Range)" 0-29999
	assert_equal "$(http_code -X PATCH -H 'Content-Range: 0-29999' --data-binary @"$TMP/c1" "$URL$loc")" 416
	assert_equal "$(http_code -X PATCH -H 'Content-Range: garbage' --data-binary @"$TMP/c2" "$URL$loc")" 416
	# Signs or blanks in the numbers, an end whose length would wrap, an
	# end past the stated total: 416 as well, and nothing taken.
	for cr in '30000-+59999' '+30000-59999' '30000 -59999' '3 0000-59999' '30000-18446744073709551615' \
		'30000-99999999999999999999' '30000-59999/30000' '30000-59999/x'; do
		assert_equal "$cr $(http_code -X PATCH -H "Content-Range: $cr" --data-binary @"$TMP/c2" "$URL$loc")" "$cr 416"
		assert_equal "$(header Range)" 0-29999
	done
	assert_equal "$(http_code "$URL$loc")" 204
	assert_equal "$(header Range)" 0-29999
	assert_equal "$(header Docker-Upload-UUID)" "$uuid"
	assert_equal "$(http_code -X PATCH -H 'Content-Range: 30000-59999' --data-binary @"$TMP/c2" "$URL$loc")" 202
	# Streamed PATCH: chunked transfer encoding, no Content-Range.
	assert_equal "$(http_code -X PATCH -H 'Transfer-Encoding: chunked' -T "$TMP/c3" "$URL$loc")" 202
	assert_equal "$(header Range)" 0-79999
	# PUT without digest, with a bad one, then with the last chunk.
	assert_equal "$(http_code -X PUT "$URL$loc")" 400
	assert_equal "$(err_code)" DIGEST_INVALID
	assert_equal "$(http_code -X PUT --data-binary @"$TMP/c4" "$URL$loc?digest=$d")" 201
	assert_equal "$(header Docker-Content-Digest)" "$d"
	assert_equal "$(http_code "$URL/v2/up/blobs/$d")" 200
	cmp "$TMP/body" "$TMP/layer"
	# The session is gone.
	assert_equal "$(http_code "$URL$loc")" 404
	assert_equal "$(err_code)" BLOB_UPLOAD_UNKNOWN
	assert_equal "$(http_code -X PATCH --data-binary @"$TMP/c1" "$URL$loc")" 404
	assert_equal "$(http_code "$URL/v2/up/blobs/uploads/nothex")" 404
	assert_equal "$(err_code)" BLOB_UPLOAD_UNKNOWN
}

# OCI-Chunk-Min-Length: announced when set, a chunk after a short one refused with 416
api_chunk_min_length() {
	# Default: no minimum, no header.
	assert_equal "$(http_code -X POST "$URL/v2/up/blobs/uploads/")" 202
	assert_equal "$(header OCI-Chunk-Min-Length)" ""
	start_ireg "$TMP/root2" --chunk-min-length 20K
	head -c 30000 "$TMP/layer" >"$TMP/c1"
	tail -c +30001 "$TMP/layer" | head -c 10000 >"$TMP/c2"
	tail -c +40001 "$TMP/layer" | head -c 10000 >"$TMP/c3"
	head -c 40000 "$TMP/layer" >"$TMP/first40k"
	assert_equal "$(http_code -X POST "$URL/v2/up/blobs/uploads/")" 202
	assert_equal "$(header OCI-Chunk-Min-Length)" 20480
	loc=$(header Location)
	assert_equal "$(http_code -X PATCH -H 'Content-Range: 0-29999' --data-binary @"$TMP/c1" "$URL$loc")" 202
	assert_equal "$(header OCI-Chunk-Min-Length)" 20480
	# A short chunk is accepted: it may be the last one...
	assert_equal "$(http_code -X PATCH -H 'Content-Range: 30000-39999' --data-binary @"$TMP/c2" "$URL$loc")" 202
	assert_equal "$(header Range)" 0-39999
	# ...so more data after it is refused, by PATCH or by PUT, and nothing is stored.
	assert_equal "$(http_code -X PATCH -H 'Content-Range: 40000-49999' --data-binary @"$TMP/c3" "$URL$loc")" 416
	assert_equal "$(err_code)" BLOB_UPLOAD_INVALID
	assert_equal "$(header Range)" 0-39999
	run jq -r '.errors[0].message' "$TMP/body"
	assert_output --partial "minimum of 20480 bytes"
	assert_equal "$(http_code -X PUT --data-binary @"$TMP/c3" "$URL$loc?digest=sha256:$(sha "$TMP/layer")")" 416
	assert_equal "$(http_code "$URL$loc")" 204
	assert_equal "$(header Range)" 0-39999
	# An empty PUT finishes the upload with what was sent.
	assert_equal "$(http_code -X PUT "$URL$loc?digest=sha256:$(sha "$TMP/first40k")")" 201
	assert_equal "$(http_code "$URL/v2/up/blobs/sha256:$(sha "$TMP/first40k")")" 200
	cmp "$TMP/body" "$TMP/first40k"
	# A blob smaller than the minimum: one short PATCH, then PUT.
	assert_equal "$(http_code -X POST "$URL/v2/up/blobs/uploads/")" 202
	loc=$(header Location)
	assert_equal "$(http_code -X PATCH -H 'Content-Range: 0-9999' --data-binary @"$TMP/c2" "$URL$loc")" 202
	assert_equal "$(http_code -X PUT "$URL$loc?digest=sha256:$(sha "$TMP/c2")")" 201
	# The config file key, and bad values.
	printf '{"chunk_min_length": 1024}' >"$TMP/conf.json"
	start_ireg "$TMP/root3" --config "$TMP/conf.json"
	assert_equal "$(http_code -X POST "$URL/v2/up/blobs/uploads/")" 202
	assert_equal "$(header OCI-Chunk-Min-Length)" 1024
	run "$IREG" serve --root "$TMP/root4" --chunk-min-length 12X
	assert_failure
	assert_output --partial "--chunk-min-length: want bytes"
	printf '{"chunk_min_length": "big"}' >"$TMP/bad.json"
	run "$IREG" serve --root "$TMP/root4" --config "$TMP/bad.json"
	assert_failure
	assert_output --partial "chunk_min_length: want bytes from 0 to"
	run "$IREG" serve --help
	assert_output --partial "--chunk-min-length N"
}

# upload cancel, and digest mismatch at PUT
api_upload_cancel_digest_mismatch() {
	assert_equal "$(http_code -X POST "$URL/v2/up/blobs/uploads/")" 202
	loc=$(header Location)
	assert_equal "$(http_code -X PATCH --data-binary @"$TMP/cfg" "$URL$loc")" 202
	assert_equal "$(http_code -X DELETE "$URL$loc")" 204
	assert_equal "$(http_code "$URL$loc")" 404
	assert_equal "$(http_code -X DELETE "$URL$loc")" 404
	assert_equal "$(err_code)" BLOB_UPLOAD_UNKNOWN
	assert_equal "$(http_code -X POST "$URL/v2/up/blobs/uploads/")" 202
	loc=$(header Location)
	wrong=sha256:$(sha "$TMP/layer")
	assert_equal "$(http_code -X PUT --data-binary @"$TMP/cfg" "$URL$loc?digest=$wrong")" 400
	assert_equal "$(err_code)" DIGEST_INVALID
	assert_equal "$(http_code "$URL/v2/up/blobs/$wrong")" 404
}

# cross-repository mount: 201 when the source holds the blob, else 202
api_mount_from() {
	d=$(push_blob src/a "$TMP/layer")
	assert_equal "$(http_code -X POST "$URL/v2/dst/b/blobs/uploads/?mount=$d&from=src/a")" 201
	assert_equal "$(header Location)" "/v2/dst/b/blobs/$d"
	assert_equal "$(http_code -I "$URL/v2/dst/b/blobs/$d")" 200
	# Source lacks it: a normal session.
	assert_equal "$(http_code -X POST "$URL/v2/dst/c/blobs/uploads/?mount=$d&from=nothere")" 202
	assert [ -n "$(header Docker-Upload-UUID)" ]
	# Without from (no auth configured: every blob is readable).
	assert_equal "$(http_code -X POST "$URL/v2/dst/d/blobs/uploads/?mount=$d")" 201
	# A bad mount digest falls back to a session.
	assert_equal "$(http_code -X POST "$URL/v2/dst/e/blobs/uploads/?mount=bad&from=src/a")" 202
}

# mount without from under auth: 201 only when the caller may pull a repository holding the blob
api_mount_without_from_auth() {
	start_ireg_mount_acl "$TMP/root2"
	d1=sha256:$(sha "$TMP/layer")
	d2=sha256:$(sha "$TMP/cfg")
	assert_equal "$(http_code -u alice:alicepw -X POST --data-binary @"$TMP/layer" "$URL/v2/team/app/blobs/uploads/?digest=$d1")" 201
	assert_equal "$(http_code -u alice:alicepw -X POST --data-binary @"$TMP/cfg" "$URL/v2/private/app/blobs/uploads/?digest=$d2")" 201
	# carol may pull team/app, which holds d1: mounted.
	assert_equal "$(http_code -u carol:carolpw -X POST "$URL/v2/carol/x/blobs/uploads/?mount=$d1")" 201
	assert_equal "$(header Location)" "/v2/carol/x/blobs/$d1"
	assert_equal "$(http_code -u carol:carolpw -I "$URL/v2/carol/x/blobs/$d1")" 200
	# d2 is only in private/app, which carol may not pull: a session instead.
	assert_equal "$(http_code -u carol:carolpw -X POST "$URL/v2/carol/x/blobs/uploads/?mount=$d2")" 202
	assert [ -n "$(header Docker-Upload-UUID)" ]
	assert_equal "$(http_code -u carol:carolpw -I "$URL/v2/carol/x/blobs/$d2")" 404
}

# manifests: PUT, GET/HEAD by tag and digest, errors, tag and manifest DELETE
api_manifests() {
	# Blobs missing: MANIFEST_BLOB_UNKNOWN.
	manifest_for sha256:$(sha "$TMP/cfg") 12 sha256:$(sha "$TMP/layer") 100000 >"$TMP/m0"
	assert_equal "$(http_code -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' --data-binary @"$TMP/m0" "$URL/v2/app/manifests/v1")" 400
	assert_equal "$(err_code)" MANIFEST_BLOB_UNKNOWN
	push_image app v1
	assert_equal "$(http_code "$URL/v2/app/manifests/v1")" 200
	cmp "$TMP/body" "$TMP/manifest"
	assert_equal "$(header Content-Type)" application/vnd.oci.image.manifest.v1+json
	assert_equal "$(header Docker-Content-Digest)" "$MDIGEST"
	assert_equal "$(http_code -I "$URL/v2/app/manifests/$MDIGEST")" 200
	assert_equal "$(header Content-Length)" "$(stat -c %s "$TMP/manifest")"
	assert_equal "$(header Docker-Content-Digest)" "$MDIGEST"
	# PUT by digest must match the body.
	assert_equal "$(http_code -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' --data-binary @"$TMP/manifest" "$URL/v2/app/manifests/$MDIGEST")" 201
	assert_equal "$(header Location)" "/v2/app/manifests/$MDIGEST"
	other=sha256:$(sha "$TMP/cfg")
	assert_equal "$(http_code -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' --data-binary @"$TMP/manifest" "$URL/v2/app/manifests/$other")" 400
	assert_equal "$(err_code)" DIGEST_INVALID
	# Malformed manifests.
	assert_equal "$(http_code -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' --data-binary '{"schemaVersion":2,' "$URL/v2/app/manifests/bad")" 400
	assert_equal "$(err_code)" MANIFEST_INVALID
	assert_equal "$(http_code -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' --data-binary '{"schemaVersion":1}' "$URL/v2/app/manifests/bad")" 400
	assert_equal "$(err_code)" MANIFEST_INVALID
	assert_equal "$(http_code -X PUT -H 'Content-Type: application/vnd.oci.image.index.v1+json' --data-binary @"$TMP/manifest" "$URL/v2/app/manifests/bad")" 400
	assert_equal "$(err_code)" MANIFEST_INVALID
	# Over 4 MiB: 413 SIZE_INVALID (Content-Length known, and chunked).
	head -c $((4 * 1024 * 1024 + 1)) /dev/zero >"$TMP/huge"
	assert_equal "$(http_code -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' --data-binary @"$TMP/huge" "$URL/v2/app/manifests/huge")" 413
	assert_equal "$(err_code)" SIZE_INVALID
	assert_equal "$(http_code -X PUT -H 'Transfer-Encoding: chunked' -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' -T "$TMP/huge" "$URL/v2/app/manifests/huge")" 413
	assert_equal "$(err_code)" SIZE_INVALID
	# Unknown tag / digest.
	assert_equal "$(http_code "$URL/v2/app/manifests/nope")" 404
	assert_equal "$(err_code)" MANIFEST_UNKNOWN
	assert_equal "$(http_code "$URL/v2/app/manifests/$other")" 404
	assert_equal "$(err_code)" MANIFEST_UNKNOWN
	# A second tag; deleting a tag removes only that tag.
	curl -sf -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' --data-binary @"$TMP/manifest" "$URL/v2/app/manifests/v2" >/dev/null
	assert_equal "$(http_code -X DELETE "$URL/v2/app/manifests/v1")" 202
	assert_equal "$(http_code "$URL/v2/app/manifests/v1")" 404
	assert_equal "$(http_code "$URL/v2/app/manifests/v2")" 200
	assert_equal "$(http_code "$URL/v2/app/manifests/$MDIGEST")" 200
	# Deleting by digest removes the manifest and every tag on it.
	assert_equal "$(http_code -X DELETE "$URL/v2/app/manifests/$MDIGEST")" 202
	assert_equal "$(http_code "$URL/v2/app/manifests/v2")" 404
	assert_equal "$(http_code "$URL/v2/app/manifests/$MDIGEST")" 404
	assert_equal "$(http_code -X DELETE "$URL/v2/app/manifests/$MDIGEST")" 404
	assert_equal "$(err_code)" MANIFEST_UNKNOWN
	run curl -s "$URL/v2/app/tags/list"
	assert_equal "$(echo "$output" | jq -c .tags)" "[]"
}

# a tag moves between media types; an index needs its children
api_tag_moves_media_types() {
	push_image app v1
	cd_=sha256:$(sha "$TMP/cfg")
	ld_=sha256:$(sha "$TMP/layer")
	jq -cn --arg c "$cd_" --arg l "$ld_" '{schemaVersion:2,mediaType:"application/vnd.docker.distribution.manifest.v2+json",
		config:{mediaType:"application/vnd.docker.container.image.v1+json",digest:$c,size:12},
		layers:[{mediaType:"application/vnd.docker.image.rootfs.diff.tar.gzip",digest:$l,size:100000}]}' | tr -d '\n' >"$TMP/dm"
	assert_equal "$(http_code -X PUT -H 'Content-Type: application/vnd.docker.distribution.manifest.v2+json' --data-binary @"$TMP/dm" "$URL/v2/app/manifests/v1")" 201
	assert_equal "$(http_code "$URL/v2/app/manifests/v1")" 200
	assert_equal "$(header Content-Type)" application/vnd.docker.distribution.manifest.v2+json
	jq -cn --arg d "$MDIGEST" --argjson s "$(stat -c %s "$TMP/manifest")" '{schemaVersion:2,mediaType:"application/vnd.oci.image.index.v1+json",
		manifests:[{mediaType:"application/vnd.oci.image.manifest.v1+json",digest:$d,size:$s,platform:{os:"linux",architecture:"amd64"}}]}' | tr -d '\n' >"$TMP/idx"
	assert_equal "$(http_code -X PUT -H 'Content-Type: application/vnd.oci.image.index.v1+json' --data-binary @"$TMP/idx" "$URL/v2/other/manifests/multi")" 400
	assert_equal "$(err_code)" MANIFEST_BLOB_UNKNOWN
	assert_equal "$(http_code -X PUT -H 'Content-Type: application/vnd.oci.image.index.v1+json' --data-binary @"$TMP/idx" "$URL/v2/app/manifests/v1")" 201
	assert_equal "$(http_code -I "$URL/v2/app/manifests/v1")" 200
	assert_equal "$(header Content-Type)" application/vnd.oci.image.index.v1+json
}

# tags list and catalog: sorted, n/last pagination with Link
api_tags_catalog_pagination() {
	push_image app v1
	for t in b a c 10 2; do
		curl -sf -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' --data-binary @"$TMP/manifest" "$URL/v2/app/manifests/$t" >/dev/null
	done
	assert_equal "$(http_code "$URL/v2/app/tags/list")" 200
	assert_equal "$(jq -c . "$TMP/body")" '{"name":"app","tags":["10","2","a","b","c","v1"]}'
	assert_equal "$(header Link)" ""
	assert_equal "$(http_code "$URL/v2/app/tags/list?n=2")" 200
	assert_equal "$(jq -c .tags "$TMP/body")" '["10","2"]'
	assert_equal "$(header Link)" '</v2/app/tags/list?n=2&last=2>; rel="next"'
	assert_equal "$(http_code "$URL/v2/app/tags/list?n=2&last=2")" 200
	assert_equal "$(jq -c .tags "$TMP/body")" '["a","b"]'
	assert_equal "$(http_code "$URL/v2/app/tags/list?n=10&last=b")" 200
	assert_equal "$(jq -c .tags "$TMP/body")" '["c","v1"]'
	assert_equal "$(header Link)" ""
	assert_equal "$(http_code "$URL/v2/app/tags/list?n=0")" 200
	assert_equal "$(jq -c .tags "$TMP/body")" '[]'
	assert_equal "$(http_code "$URL/v2/app/tags/list?n=x")" 400
	assert_equal "$(http_code "$URL/v2/nothere/tags/list")" 404
	assert_equal "$(err_code)" NAME_UNKNOWN
	push_image z/last v1
	push_image a/first v1
	assert_equal "$(http_code "$URL/v2/_catalog")" 200
	assert_equal "$(jq -c . "$TMP/body")" '{"repositories":["a/first","app","z/last"]}'
	assert_equal "$(http_code "$URL/v2/_catalog?n=1")" 200
	assert_equal "$(jq -c .repositories "$TMP/body")" '["a/first"]'
	assert_equal "$(header Link)" '</v2/_catalog?n=1&last=a/first>; rel="next"'
	assert_equal "$(http_code "$URL/v2/_catalog?n=5&last=a/first")" 200
	assert_equal "$(jq -c .repositories "$TMP/body")" '["app","z/last"]'
	# A repository holding only an upload session is not listed.
	assert_equal "$(http_code -X POST "$URL/v2/only/uploads/blobs/uploads/")" 202
	[ "${IREG_DRIVER:-fs}" != fs ] || assert [ -d "$TMP/root/repos/only/uploads/_uploads" ]
	assert_equal "$(http_code "$URL/v2/_catalog")" 200
	assert_equal "$(jq -c . "$TMP/body")" '{"repositories":["a/first","app","z/last"]}'
	# Once it holds a blob it is.
	push_blob only/uploads "$TMP/cfg" >/dev/null
	assert_equal "$(http_code "$URL/v2/_catalog")" 200
	assert_equal "$(jq -c .repositories "$TMP/body")" '["a/first","app","only/uploads","z/last"]'
}

# referrers API: OCI-Subject, listing, artifactType filter, empty index
api_referrers() {
	push_image app v1
	printf '{}' >"$TMP/empty"
	ed=$(push_blob app "$TMP/empty")
	for at in application/vnd.example.sbom application/vnd.example.sig; do
		jq -cn --arg e "$ed" --arg s "$MDIGEST" --argjson ss "$(stat -c %s "$TMP/manifest")" --arg at "$at" \
			'{schemaVersion:2,mediaType:"application/vnd.oci.image.manifest.v1+json",artifactType:$at,
			config:{mediaType:"application/vnd.oci.empty.v1+json",digest:$e,size:2},
			layers:[{mediaType:"application/vnd.oci.empty.v1+json",digest:$e,size:2}],
			subject:{mediaType:"application/vnd.oci.image.manifest.v1+json",digest:$s,size:$ss},
			annotations:{"org.example":"yes"}}' | tr -d '\n' >"$TMP/art-$(basename $at)"
		assert_equal "$(http_code -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' --data-binary @"$TMP/art-$(basename $at)" "$URL/v2/app/manifests/sha256:$(sha "$TMP/art-$(basename $at)")")" 201
		assert_equal "$(header OCI-Subject)" "$MDIGEST"
	done
	assert_equal "$(http_code "$URL/v2/app/referrers/$MDIGEST")" 200
	assert_equal "$(header Content-Type)" application/vnd.oci.image.index.v1+json
	assert_equal "$(jq -r .mediaType "$TMP/body")" application/vnd.oci.image.index.v1+json
	assert_equal "$(jq -r '.manifests | length' "$TMP/body")" 2
	assert_equal "$(jq -r '[.manifests[].artifactType] | sort | join(",")' "$TMP/body")" \
		application/vnd.example.sbom,application/vnd.example.sig
	assert_equal "$(jq -r '.manifests[0].annotations["org.example"]' "$TMP/body")" yes
	assert_equal "$(http_code "$URL/v2/app/referrers/$MDIGEST?artifactType=application/vnd.example.sig")" 200
	assert_equal "$(header OCI-Filters-Applied)" artifactType
	assert_equal "$(jq -r '.manifests | length' "$TMP/body")" 1
	assert_equal "$(jq -r '.manifests[0].digest' "$TMP/body")" "sha256:$(sha "$TMP/art-vnd.example.sig")"
	# A subject with no referrers (or unknown): an empty index, not 404.
	assert_equal "$(http_code "$URL/v2/app/referrers/$ed")" 200
	assert_equal "$(jq -c .manifests "$TMP/body")" "[]"
	assert_equal "$(http_code "$URL/v2/app/referrers/sha256:zz")" 400
	# Deleting a referrer removes it from the index.
	assert_equal "$(http_code -X DELETE "$URL/v2/app/manifests/sha256:$(sha "$TMP/art-vnd.example.sig")")" 202
	assert_equal "$(http_code "$URL/v2/app/referrers/$MDIGEST")" 200
	assert_equal "$(jq -r '.manifests | length' "$TMP/body")" 1
}

# concurrent pushes of one blob to one and several repositories
api_concurrent_pushes() {
	head -c 3000000 /dev/urandom >"$TMP/big"
	d=sha256:$(sha "$TMP/big")
	pids=()
	for i in 1 2 3 4 5 6; do
		curl -s -o /dev/null -w '%{http_code}\n' -X POST --data-binary @"$TMP/big" "$URL/v2/c$((i % 3))/blobs/uploads/?digest=$d" >"$TMP/st$i" &
		pids+=($!)
	done
	wait "${pids[@]}"
	for i in 1 2 3 4 5 6; do assert_equal "$(cat "$TMP/st$i")" 201; done
	for r in c0 c1 c2; do
		assert_equal "$(http_code "$URL/v2/$r/blobs/$d")" 200
		cmp "$TMP/body" "$TMP/big"
	done
}
