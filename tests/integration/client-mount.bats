#!/usr/bin/env bats
# Cross-repository mounts from the store's blob-location record
# (STORE/blobinfo.json): an image pushed (or pulled) once is mounted, not
# uploaded again, when it goes to another repository of the same
# registry; a location that went stale falls back to an upload.

bats_require_minimum_version 1.5.0
load client-helpers

setup() {
	client_setup
	make_image "$TMP/lay" v1 256
	WANT=$(digest_of "$TMP/lay" v1)
	LAYER=$(jq -r '.layers[0].digest' "$TMP/lay/blobs/sha256/${WANT#sha256:}")
	CONFIG=$(jq -r '.config.digest' "$TMP/lay/blobs/sha256/${WANT#sha256:}")
	# Into the store as a built image would be: no source annotation.
	run "$IPULL" -q oci:"$TMP/lay":v1
	assert_success
	run jq -r '.manifests[].annotations["io.ibuild.source.repository"] // "none"' "$IBUILD_STORE/index.json"
	assert_output none
}
teardown() { client_teardown; }

# Sum of bytes_in of ireg's requests for REPO's upload sessions.
upload_bytes() {
	awk -v p="path=/v2/$1/blobs/uploads" 'index($0, p) { for (i = 1; i <= NF; i++) if ($i ~ /^bytes_in=/) { split($i, a, "="); s += a[2] } } END { print s + 0 }' "$TMP/ireg.log"
}

# mount_flow REGISTRY: push to a/x, then the same image to b/y by mounts.
mount_flow() {
	local reg=$1
	run --separate-stderr "$IPUSH" v1 "$reg/a/x:v1"
	assert_success
	assert_output "$reg/a/x@$WANT"
	[[ "$stderr" == *"Pushed 2 blobs"*", 0 mounted, 0 already there"* ]]
	# The record: where each blob is, and nothing else (no credentials).
	run jq -r --arg d "$LAYER" '.blobs[] | select(.digest == $d) | .locations[] | "\(.host) \(.repository)"' \
		"$IBUILD_STORE/blobinfo.json"
	assert_output "$reg a/x"
	run --separate-stderr "$IPUSH" v1 "$reg/b/y:v1"
	assert_success
	assert_output "$reg/b/y@$WANT"
	[[ "$stderr" == *"Mounted blob $LAYER from a/x"* ]]
	[[ "$stderr" == *"Mounted blob $CONFIG from a/x"* ]]
	[[ "$stderr" == *"Pushed 0 blobs (0 bytes), 2 mounted, 0 already there"* ]]
	assert_equal "$(raw_digest "$reg/b/y:v1")" "$WANT"
	run --separate-stderr "$IPULL" -q --output oci:"$TMP/out":b "$reg/b/y:v1"
	assert_success
	assert_equal "$(digest_of "$TMP/out" b)" "$WANT"
	# Both repositories are on record now, newest first.
	run jq -r --arg d "$LAYER" '[.blobs[] | select(.digest == $d) | .locations[].repository] | join(" ")' \
		"$IBUILD_STORE/blobinfo.json"
	assert_output "b/y a/x"
}

@test "a stored image pushed to a second ireg repository is mounted, not uploaded again" {
	start_ireg
	mount_flow "$IREG"
	run grep -c "audit=mount .*repo=b/y" "$TMP/ireg.log"
	assert_output 2
	assert_equal "$(upload_bytes b/y)" 0
	[ "$(upload_bytes a/x)" -gt 256000 ]
}

@test "a stored image pushed to a second distribution repository is mounted, not uploaded again" {
	start_dist
	mount_flow "$DIST"
}

@test "a pull records where its blobs came from: a push to another repository mounts them" {
	start_ireg
	run "$IPUSH" -q oci:"$TMP/lay":v1 "$IREG/src/app:v1"
	assert_success
	rm -rf "$IBUILD_STORE"
	# Pulled by digest: no name, so no source annotation either; only the
	# record knows.
	run "$IPULL" -q "$IREG/src/app@$WANT"
	assert_success
	run jq -r --arg d "$LAYER" '.blobs[] | select(.digest == $d) | .locations[].repository' "$IBUILD_STORE/blobinfo.json"
	assert_output src/app
	run --separate-stderr "$IPUSH" "$WANT" "$IREG/dst/app:v1"
	assert_success
	[[ "$stderr" == *"Pushed 0 blobs (0 bytes), 2 mounted"* ]]
	assert_equal "$(upload_bytes dst/app)" 0
}

# stale_flow REGISTRY: the layer is deleted from a/x after the first push;
# the mount from there is answered with an upload session (202), which the
# push uses.
stale_flow() {
	local reg=$1
	run "$IPUSH" -q v1 "$reg/a/x:v1"
	assert_success
	run curl -s -o /dev/null -w '%{http_code}' -X DELETE "http://$reg/v2/a/x/blobs/$LAYER"
	assert_output 202
	run --separate-stderr "$IPUSH" v1 "$reg/b/y:v1"
	assert_success
	assert_output "$reg/b/y@$WANT"
	[[ "$stderr" == *"Registry did not mount $LAYER from a/x; uploading it"* ]]
	[[ "$stderr" == *"Mounted blob $CONFIG from a/x"* ]]
	[[ "$stderr" == *"Pushed 1 blobs ("*" bytes), 1 mounted, 0 already there"* ]]
	run --separate-stderr "$IPULL" -q --output oci:"$TMP/out":b "$reg/b/y:v1"
	assert_success
	assert_equal "$(digest_of "$TMP/out" b)" "$WANT"
	[ "$(sha "$TMP/out/blobs/sha256/${LAYER#sha256:}")" = "${LAYER#sha256:}" ]
}

@test "ireg: a mount from a repository that lost the blob falls back to the upload session it starts" {
	start_ireg
	stale_flow "$IREG"
	[ "$(upload_bytes b/y)" -gt 256000 ]
}

@test "distribution: a mount from a repository that lost the blob falls back to the upload session it starts" {
	start_dist
	stale_flow "$DIST"
}

@test "ireg with ACLs: a mount from a repository the credentials cannot read is uploaded instead" {
	htpasswd -Bbn -C 5 alice wonderland >"$TMP/htpasswd"
	htpasswd -Bbn -C 5 bob builder >>"$TMP/htpasswd"
	cat >"$TMP/ireg.json" <<-JSON
		{"auth": {"htpasswd": "$TMP/htpasswd",
		  "acl": [{"user": "alice", "repos": "a/**", "actions": ["pull", "push"]},
		          {"user": "bob", "repos": "b/**", "actions": ["pull", "push"]}]}}
	JSON
	start_ireg --config "$TMP/ireg.json"
	run "$IPUSH" -q --creds alice:wonderland v1 "$IREG/a/x:v1"
	assert_success
	run --separate-stderr "$IPUSH" --creds bob:builder v1 "$IREG/b/y:v1"
	assert_success
	assert_output "$IREG/b/y@$WANT"
	[[ "$stderr" == *"Registry did not mount $LAYER from a/x; uploading it"* ]]
	[[ "$stderr" == *"Pushed 2 blobs ("*" bytes), 0 mounted, 0 already there"* ]]
	run grep -c "audit=mount" "$TMP/ireg.log"
	assert_output 0
	run --separate-stderr "$IPULL" -q --creds bob:builder --output oci:"$TMP/out":b "$IREG/b/y:v1"
	assert_success
	assert_equal "$(digest_of "$TMP/out" b)" "$WANT"
	# The record holds repositories, never the credentials used.
	run grep -c -e alice -e wonderland -e bob -e builder "$IBUILD_STORE/blobinfo.json"
	assert_output 0
}

@test "distribution with tokens: a mount the token does not cover (401) is uploaded instead" {
	htpasswd -Bbn -C 5 alice wonderland >"$TMP/htpasswd"
	htpasswd -Bbn -C 5 bob builder >>"$TMP/htpasswd"
	openssl ecparam -name prime256v1 -genkey -noout -out "$TMP/ec.pem" 2>/dev/null
	openssl req -x509 -new -key "$TMP/ec.pem" -subj /CN=ireg-token -days 2 -out "$TMP/ec.crt" 2>/dev/null
	local port
	port=$(free_port)
	cat >"$TMP/ireg.json" <<-JSON
		{"auth": {"htpasswd": "$TMP/htpasswd",
		  "token": {"realm": "http://127.0.0.1:$port/token", "service": "test-registry",
		            "issuer": "test-issuer", "key": "$TMP/ec.pem", "cert": "$TMP/ec.crt"},
		  "acl": [{"user": "alice", "repos": "a/**", "actions": ["pull", "push"]},
		          {"user": "bob", "repos": "b/**", "actions": ["pull", "push"]}]}}
	JSON
	"$IREG_BIN" serve --addr "127.0.0.1:$port" --root "$TMP/ireg-root" --config "$TMP/ireg.json" \
		--log "$TMP/ireg.log" 2>>"$TMP/ireg.err" &
	PIDS+=("$!")
	wait_http "http://127.0.0.1:$port/v2/" "$!" || { cat "$TMP/ireg.err" >&2; return 1; }
	cat >"$TMP/auth.yml" <<-YML
		auth:
		  token:
		    realm: http://127.0.0.1:$port/token
		    service: test-registry
		    issuer: test-issuer
		    rootcertbundle: $TMP/ec.crt
	YML
	start_dist "$TMP/auth.yml"
	run "$IPUSH" -q --creds alice:wonderland v1 "$DIST/a/x:v1"
	assert_success
	run --separate-stderr "$IPUSH" --creds bob:builder v1 "$DIST/b/y:v1"
	assert_success
	assert_output "$DIST/b/y@$WANT"
	[[ "$stderr" == *"Mount of $LAYER from a/x refused ("*"); uploading it"* ]]
	[[ "$stderr" == *"Pushed 2 blobs ("*" bytes), 0 mounted, 0 already there"* ]]
	run --separate-stderr "$IPULL" -q --creds bob:builder --output oci:"$TMP/out":b "$DIST/b/y:v1"
	assert_success
	assert_equal "$(digest_of "$TMP/out" b)" "$WANT"
}

@test "a garbled blob-location record is a warning, never a failure, and is rewritten" {
	start_ireg
	printf '{"version": 1, "blobs": [{"digest": "sha256:' >"$IBUILD_STORE/blobinfo.json"
	run --separate-stderr "$IPUSH" -q v1 "$IREG/a/x:v1"
	assert_success
	[[ "$stderr" == *"ipush: warning: ignoring the blob-location record: $IBUILD_STORE/blobinfo.json:"* ]]
	run jq -r '.version' "$IBUILD_STORE/blobinfo.json"
	assert_output 1
	# Entries that do not check out are dropped with a warning; the rest serves.
	jq --arg d "$LAYER" '.blobs += [{"digest": "sha256:nothex", "locations": []},
		{"digest": $d, "locations": [{"host": "x@evil", "repository": "a/x", "time": 1},
		                            {"host": "h", "repository": "UPPER", "time": 1}]}]' \
		"$IBUILD_STORE/blobinfo.json" >"$TMP/bi" && mv "$TMP/bi" "$IBUILD_STORE/blobinfo.json"
	run --separate-stderr "$IPUSH" v1 "$IREG/b/y:v1"
	assert_success
	[[ "$stderr" == *"ignored 3 malformed entries"* ]]
	[[ "$stderr" == *"Pushed 0 blobs (0 bytes), 2 mounted"* ]]
	# A record that cannot be read or written is a warning too.
	rm "$IBUILD_STORE/blobinfo.json"
	mkdir "$IBUILD_STORE/blobinfo.json"
	run --separate-stderr "$IPUSH" -q v1 "$IREG/c/z:v1"
	assert_success
	assert_output "$IREG/c/z@$WANT"
	[[ "$stderr" == *"ipush: warning: ignoring the blob-location record"* ]]
	[[ "$stderr" == *"ipush: warning: could not update the blob-location record"* ]]
}
