#!/usr/bin/env bats
# ireg gc: what is kept, what goes, --dry-run, stale uploads.

load ireg-helpers

setup() {
	ireg_setup
	start_ireg "$TMP/root"
}
teardown() { ireg_teardown; }

put_manifest() { # REPO REF FILE [CT]
	curl -sf -X PUT -H "Content-Type: ${4:-application/vnd.oci.image.manifest.v1+json}" --data-binary @"$3" "$URL/v2/$1/manifests/$2" >/dev/null
}

# the size app's blob DIGEST has on the server (a descriptor must carry it)
blob_size() { curl -sfI "$URL/v2/app/blobs/$1" | grep -i '^content-length:' | tr -dc 0-9; }

image_manifest() { # CFG LAYER... -> stdout
	local c=$1 d sizes=()
	shift
	for d in "$@"; do sizes+=("$d" "$(blob_size "$d")"); done
	jq -cn --arg c "$c" --argjson cs "$(blob_size "$c")" --args '{schemaVersion:2,
		mediaType:"application/vnd.oci.image.manifest.v1+json",
		config:{mediaType:"application/vnd.oci.image.config.v1+json",digest:$c,size:$cs},
		layers:[$ARGS.positional as $p | range(0; $p | length; 2) |
			{mediaType:"application/vnd.oci.image.layer.v1.tar",digest:$p[.],size:($p[.+1] | tonumber)}]}' \
		"${sizes[@]}" | tr -d '\n'
}

@test "gc deletes untagged manifests and their unique blobs, keeps tagged, index children, referrers" {
	for f in cfg shared only1 only2 child; do printf '%s' "$f" >"$TMP/$f"; done
	c=$(push_blob app "$TMP/cfg")
	s=$(push_blob app "$TMP/shared")
	o1=$(push_blob app "$TMP/only1")
	o2=$(push_blob app "$TMP/only2")
	ch=$(push_blob app "$TMP/child")
	image_manifest "$c" "$s" "$o1" >"$TMP/m1"
	image_manifest "$c" "$s" "$o2" >"$TMP/m2"
	image_manifest "$c" "$ch" >"$TMP/mchild"
	put_manifest app keep "$TMP/m1"
	put_manifest app drop "$TMP/m2"
	put_manifest app "sha256:$(sha "$TMP/mchild")" "$TMP/mchild"
	jq -cn --arg d "sha256:$(sha "$TMP/mchild")" --argjson s "$(stat -c %s "$TMP/mchild")" '{schemaVersion:2,
		mediaType:"application/vnd.oci.image.index.v1+json",
		manifests:[{mediaType:"application/vnd.oci.image.manifest.v1+json",digest:$d,size:$s}]}' | tr -d '\n' >"$TMP/idx"
	put_manifest app multi "$TMP/idx" application/vnd.oci.image.index.v1+json
	# A referrer of the kept image (untagged).
	jq -cn --arg c "$c" --argjson cs "$(blob_size "$c")" --arg s "sha256:$(sha "$TMP/m1")" \
		--argjson z "$(stat -c %s "$TMP/m1")" '{schemaVersion:2,
		mediaType:"application/vnd.oci.image.manifest.v1+json",artifactType:"application/x-sig",
		config:{mediaType:"application/vnd.oci.image.config.v1+json",digest:$c,size:$cs},layers:[],
		subject:{mediaType:"application/vnd.oci.image.manifest.v1+json",digest:$s,size:$z}}' | tr -d '\n' >"$TMP/sig"
	put_manifest app "sha256:$(sha "$TMP/sig")" "$TMP/sig"
	# An upload session left behind, and a blob no manifest references.
	http_code -X POST "$URL/v2/app/blobs/uploads/" >/dev/null
	loc=$(header Location)
	printf 'orphan' >"$TMP/orphan"
	orph=$(push_blob app "$TMP/orphan")
	curl -sf -X DELETE "$URL/v2/app/manifests/drop" >/dev/null

	# Within the grace period nothing goes.
	run "$IREG" gc --root "$TMP/root" --grace 1h
	assert_success
	assert_output --partial "0 manifests, 0 blob links, 0 blobs"

	run "$IREG" gc --root "$TMP/root" --grace 0 --dry-run
	assert_success
	assert_output --partial "would delete manifest app@sha256:$(sha "$TMP/m2")"
	assert_output --partial "would delete blob $o2"
	assert_output --partial "would delete blob $orph"
	refute_output --partial "$s"
	assert_equal "$(http_code "$URL/v2/app/manifests/sha256:$(sha "$TMP/m2")")" 200

	run "$IREG" gc --root "$TMP/root" --grace 0 --upload-max-age 0
	assert_success
	assert_output --partial "1 manifests, 2 blob links, 3 blobs"
	assert_output --partial "1 upload sessions"
	assert_equal "$(http_code "$URL/v2/app/manifests/sha256:$(sha "$TMP/m2")")" 404
	assert_equal "$(http_code "$URL/v2/app/blobs/$o2")" 404
	assert_equal "$(http_code "$URL/v2/app/blobs/$orph")" 404
	assert [ ! -e "$TMP/root/blobs/sha256/${o2:7:2}/${o2#sha256:}" ]
	assert [ ! -e "$TMP/root/index/blob-repos/sha256/${o2:7:2}/${o2#sha256:}" ]
	assert [ -e "$TMP/root/index/blob-repos/sha256/${s:7:2}/${s#sha256:}/app" ]
	for b in "$c" "$s" "$o1" "$ch"; do
		assert_equal "$(http_code "$URL/v2/app/blobs/$b")" 200
	done
	assert_equal "$(http_code "$URL/v2/app/manifests/keep")" 200
	assert_equal "$(http_code "$URL/v2/app/manifests/multi")" 200
	assert_equal "$(http_code "$URL/v2/app/manifests/sha256:$(sha "$TMP/mchild")")" 200
	assert_equal "$(http_code "$URL/v2/app/manifests/sha256:$(sha "$TMP/sig")")" 200
	assert_equal "$(http_code "$URL$loc")" 404
	# A second run finds nothing more.
	run "$IREG" gc --root "$TMP/root" --grace 0
	assert_output --partial "0 manifests, 0 blob links, 0 blobs"
}

@test "gc --keep-untagged keeps manifests; skopeo still pulls after gc" {
	make_image "$TMP/lay" v1 64
	make_image "$TMP/lay" v2 64
	skopeo copy -q --dest-tls-verify=false "oci:$TMP/lay:v1" "docker://$REG/app:v1"
	skopeo copy -q --dest-tls-verify=false "oci:$TMP/lay:v2" "docker://$REG/app:v2"
	curl -sf -X DELETE "$URL/v2/app/manifests/v2" >/dev/null
	run "$IREG" gc --root "$TMP/root" --grace 0 --keep-untagged
	assert_output --partial "0 manifests"
	run "$IREG" gc --root "$TMP/root" --grace 0 -q
	assert_output --partial "1 manifests"
	run skopeo copy --src-tls-verify=false "docker://$REG/app:v1" "oci:$TMP/out:v1"
	assert_success
	run "$IREG" gc --root "$TMP/root" --grace bogus
	assert_failure
	assert_output --partial "--grace"
}

@test "gc race: a blob HEAD refreshes the link, so a manifest PUT after gc still finds it" {
	printf 'cfg' >"$TMP/cfg"
	printf 'layer' >"$TMP/layer"
	printf 'other' >"$TMP/other"
	c=$(push_blob app "$TMP/cfg")
	l=$(push_blob app "$TMP/layer")
	o=$(push_blob app "$TMP/other")
	# Everything is old and no manifest names it yet.
	for d in "$c" "$l" "$o"; do
		touch -d '2 hours ago' "$TMP/root/repos/app/_layers/sha256/${d#sha256:}" \
			"$TMP/root/blobs/sha256/${d:7:2}/${d#sha256:}"
	done
	# The client checks which blobs exist (HEAD, or GET) before its manifest PUT...
	assert_equal "$(http_code -I "$URL/v2/app/blobs/$c")" 200
	assert_equal "$(http_code "$URL/v2/app/blobs/$l")" 200
	# ...gc runs in between...
	run "$IREG" gc --root "$TMP/root" --grace 1h
	assert_success
	assert_output --partial "delete link app@$o"
	refute_output --partial "$c"
	refute_output --partial "$l"
	assert_output --partial "0 manifests, 1 blob links, 1 blobs"
	# ...and the PUT still finds what HEAD said exists; the unused blob went.
	image_manifest "$c" "$l" >"$TMP/m"
	assert_equal "$(http_code -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' \
		--data-binary @"$TMP/m" "$URL/v2/app/manifests/v1")" 201
	assert_equal "$(http_code -I "$URL/v2/app/blobs/$o")" 404
}

@test "blob -> repositories index: mount without from uses it, gc repairs it" {
	start_ireg_mount_acl "$TMP/root2"
	head -c 5000 /dev/urandom >"$TMP/blob"
	d=sha256:$(sha "$TMP/blob")
	idx=$TMP/root2/index/blob-repos/sha256/${d:7:2}/${d#sha256:}
	assert_equal "$(http_code -u alice:alicepw -X POST --data-binary @"$TMP/blob" "$URL/v2/team/app/blobs/uploads/?digest=$d")" 201
	assert [ -e "$idx/team+app" ]
	assert_equal "$(http_code -u carol:carolpw -X POST "$URL/v2/carol/a/blobs/uploads/?mount=$d")" 201
	assert [ -e "$idx/carol+a" ]
	# An index that has lost its entries (a store from before the index):
	# the mount is not found by scanning the repositories...
	rm -f "$idx"/*
	assert_equal "$(http_code -u carol:carolpw -X POST "$URL/v2/carol/b/blobs/uploads/?mount=$d")" 202
	# ...until gc puts the entries back (a dry run only says so).
	run "$IREG" gc --root "$TMP/root2" --grace 1h --dry-run
	assert_output --partial "would index link team/app@$d"
	assert [ ! -e "$idx/team+app" ]
	run "$IREG" gc --root "$TMP/root2" --grace 1h
	assert_success
	assert_output --partial "index link team/app@$d"
	assert_output --partial "index link carol/a@$d"
	assert_output --partial "2 index entries repaired"
	assert [ -e "$idx/team+app" ]
	assert_equal "$(http_code -u carol:carolpw -X POST "$URL/v2/carol/c/blobs/uploads/?mount=$d")" 201
	# A stale entry (no link behind it) never grants a mount, and gc drops
	# it once older than the grace period.
	printf 'private' >"$TMP/priv"
	p=sha256:$(sha "$TMP/priv")
	pidx=$TMP/root2/index/blob-repos/sha256/${p:7:2}/${p#sha256:}
	assert_equal "$(http_code -u alice:alicepw -X POST --data-binary @"$TMP/priv" "$URL/v2/private/p/blobs/uploads/?digest=$p")" 201
	touch "$pidx/team+app"
	assert_equal "$(http_code -u carol:carolpw -X POST "$URL/v2/carol/x/blobs/uploads/?mount=$p")" 202
	run "$IREG" gc --root "$TMP/root2" --grace 1h
	refute_output --partial "unindex"
	touch -d '2 hours ago' "$pidx/team+app"
	run "$IREG" gc --root "$TMP/root2" --grace 1h
	assert_output --partial "unindex link team/app@$p"
	assert [ ! -e "$pidx/team+app" ]
	assert [ -e "$pidx/private+p" ]
	# Unlinking a blob removes its entry.
	assert_equal "$(http_code -u alice:alicepw -X DELETE "$URL/v2/private/p/blobs/$p")" 202
	assert [ ! -e "$pidx/private+p" ]
}
