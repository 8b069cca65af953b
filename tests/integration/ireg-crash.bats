#!/usr/bin/env bats
# kill -9 at awkward moments leaves a consistent registry; SIGTERM drains.

load ireg-helpers

setup() { ireg_setup; }
teardown() { ireg_teardown; }

@test "kill -9 during a large chunked upload: old content intact, the upload resumes and completes" {
	start_ireg "$TMP/root"
	make_image "$TMP/lay" v1 512
	run skopeo copy --dest-tls-verify=false "oci:$TMP/lay:v1" "docker://$REG/app:v1"
	assert_success
	want=$(skopeo inspect --tls-verify=false --raw "docker://$REG/app:v1" | sha256sum | cut -d' ' -f1)

	head -c $((96 * 1024 * 1024)) /dev/urandom >"$TMP/big"
	d=sha256:$(sha "$TMP/big")
	http_code -X POST "$URL/v2/app/blobs/uploads/" >/dev/null
	loc=$(header Location)
	# A slow streamed PATCH; the server dies in the middle of it.
	curl -s -o /dev/null --limit-rate 40M -X PATCH -H 'Transfer-Encoding: chunked' -T "$TMP/big" "$URL$loc" &
	cpid=$!
	sleep 1
	kill -9 "$IREG_PID"
	wait "$cpid" || true

	start_ireg "$TMP/root"
	# Everything completed before the crash is served.
	got=$(skopeo inspect --tls-verify=false --raw "docker://$REG/app:v1" | sha256sum | cut -d' ' -f1)
	assert_equal "$got" "$want"
	run skopeo copy --src-tls-verify=false "docker://$REG/app:v1" "oci:$TMP/out:v1"
	assert_success
	# The session survived with whatever reached the disk; resume from there.
	assert_equal "$(http_code "$URL$loc")" 204
	range=$(header Range)
	have=$(( ${range#0-} + 1 ))
	[ "$have" -gt 0 ] && [ "$have" -lt $((96 * 1024 * 1024)) ]
	tail -c +$((have + 1)) "$TMP/big" >"$TMP/rest"
	assert_equal "$(http_code -X PATCH -H "Content-Range: $have-$((96 * 1024 * 1024 - 1))" --data-binary @"$TMP/rest" "$URL$loc")" 202
	assert_equal "$(http_code -X PUT "$URL$loc?digest=$d")" 201
	curl -s "$URL/v2/app/blobs/$d" -o "$TMP/back"
	cmp "$TMP/back" "$TMP/big"
	# Nothing half-written is visible: no temp files left in the blob store.
	run find "$TMP/root/blobs" -name '.tmp-*'
	assert_output ""
}

@test "kill -9 during manifest PUTs: every tag resolves to a complete manifest, re-push works" {
	start_ireg "$TMP/root"
	printf 'cfg' >"$TMP/cfg"
	cd_=$(push_blob app "$TMP/cfg")
	for i in 1 2 3; do
		jq -cn --arg c "$cd_" --arg n "$i" '{schemaVersion:2,mediaType:"application/vnd.oci.image.manifest.v1+json",
			config:{mediaType:"application/vnd.oci.image.config.v1+json",digest:$c,size:3},layers:[],
			annotations:{n:$n}}' | tr -d '\n' >"$TMP/m$i"
	done
	curl -sf -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' --data-binary @"$TMP/m1" "$URL/v2/app/manifests/t" >/dev/null
	# Hammer the tag with PUTs and kill the server in the middle.
	(
		while :; do
			for i in 1 2 3; do
				curl -s -o /dev/null -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' \
					--data-binary @"$TMP/m$i" "$URL/v2/app/manifests/t" || exit 0
			done
		done
	) &
	lpid=$!
	sleep 0.7
	kill -9 "$IREG_PID"
	wait "$lpid" || true

	start_ireg "$TMP/root"
	assert_equal "$(http_code "$URL/v2/app/manifests/t")" 200
	dig=sha256:$(sha "$TMP/body")
	assert_equal "$(header Docker-Content-Digest)" "$dig"
	run grep -l . "$TMP/m1" "$TMP/m2" "$TMP/m3"
	found=0
	for i in 1 2 3; do [ "sha256:$(sha "$TMP/m$i")" = "$dig" ] && found=1; done
	assert_equal "$found" 1
	# The reverse index agrees: deleting by digest removes the tag.
	assert_equal "$(http_code -X DELETE "$URL/v2/app/manifests/$dig")" 202
	assert_equal "$(http_code "$URL/v2/app/manifests/t")" 404
	# And the push is accepted again.
	assert_equal "$(http_code -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' --data-binary @"$TMP/m2" "$URL/v2/app/manifests/t")" 201
	assert_equal "$(http_code "$URL/v2/app/manifests/t")" 200
	cmp "$TMP/body" "$TMP/m2"
}

@test "SIGTERM lets an upload in flight finish, then exits 0" {
	start_ireg "$TMP/root"
	head -c $((8 * 1024 * 1024)) /dev/urandom >"$TMP/blob"
	d=sha256:$(sha "$TMP/blob")
	curl -s -o /dev/null -w "%{http_code}" --limit-rate 8M -X POST --data-binary @"$TMP/blob" \
		"$URL/v2/app/blobs/uploads/?digest=$d" >"$TMP/status" &
	cpid=$!
	sleep 0.4
	kill -TERM "$IREG_PID"
	wait "$cpid"
	assert_equal "$(cat "$TMP/status")" 201
	rc=0
	wait "$IREG_PID" || rc=$?
	cat "$TMP/ireg.err"
	assert_equal "$rc" 0
	grep -q 'draining' "$TMP/ireg.err"
	# New connections are refused once stopped.
	run curl -s "$URL/v2/"
	assert_failure
	start_ireg "$TMP/root"
	assert_equal "$(http_code "$URL/v2/app/blobs/$d")" 200
	cmp "$TMP/body" "$TMP/blob"
}
