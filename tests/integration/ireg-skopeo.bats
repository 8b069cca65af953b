#!/usr/bin/env bats
# skopeo copies images into ireg and back out, digests identical; the same
# flow against CNCF distribution (docker-registry) for comparison.

load ireg-helpers

setup() { ireg_setup; }
teardown() { ireg_teardown; }

roundtrip() { # REGISTRY(host:port)
	local reg=$1
	make_image "$TMP/lay" v1 2048
	make_image "$TMP/lay" v2 64
	want=$(jq -r '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"]=="v1") | .digest' "$TMP/lay/index.json")
	run skopeo copy --dest-tls-verify=false "oci:$TMP/lay:v1" "docker://$reg/team/app:v1"
	assert_success
	run skopeo copy --dest-tls-verify=false "oci:$TMP/lay:v2" "docker://$reg/team/app:v2"
	assert_success
	# The manifest comes back byte for byte.
	skopeo inspect --tls-verify=false --raw "docker://$reg/team/app:v1" >"$TMP/raw"
	assert_equal "sha256:$(sha "$TMP/raw")" "$want"
	run skopeo inspect --tls-verify=false "docker://$reg/team/app:v1"
	assert_success
	assert_equal "$(echo "$output" | jq -r .Digest)" "$want"
	assert_equal "$(echo "$output" | jq -r '.RepoTags | sort | join(",")')" "v1,v2"
	# And out again into a fresh layout: same manifest digest, blobs verified by skopeo.
	run skopeo copy --src-tls-verify=false "docker://$reg/team/app:v1" "oci:$TMP/out:v1"
	assert_success
	assert_equal "$(jq -r '.manifests[0].digest' "$TMP/out/index.json")" "$want"
	run umoci unpack --image "$TMP/out:v1" "$TMP/bundle"
	assert_success
	assert_equal "$(cat "$TMP/bundle/rootfs/etc/hello")" v1
	# Copy between repositories of the same registry (cross-repo mount).
	run skopeo copy --src-tls-verify=false --dest-tls-verify=false "docker://$reg/team/app:v1" \
		"docker://$reg/other/app:v1"
	assert_success
	skopeo inspect --tls-verify=false --raw "docker://$reg/other/app:v1" >"$TMP/raw2"
	assert_equal "sha256:$(sha "$TMP/raw2")" "$want"
}

@test "skopeo copy into ireg and back out keeps digests" {
	start_ireg "$TMP/root"
	roundtrip "$REG"
	# The second copy mounted instead of uploading.
	run grep -c 'audit=mount' "$TMP/ireg.log"
	assert_success
	# A docker-format copy (schema 2 manifest) works too.
	run skopeo copy --format v2s2 --dest-tls-verify=false "oci:$TMP/lay:v2" "docker://$REG/team/docker:v2"
	assert_success
	run skopeo inspect --tls-verify=false --raw "docker://$REG/team/docker:v2"
	assert_success
	assert_equal "$(echo "$output" | jq -r .mediaType)" application/vnd.docker.distribution.manifest.v2+json
	run curl -sI "$URL/v2/team/docker/manifests/v2"
	assert_output --partial 'Content-Type: application/vnd.docker.distribution.manifest.v2+json'
}

@test "skopeo copy into CNCF distribution keeps digests (reference run)" {
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	cat >"$TMP/config.yml" <<-YML
	version: 0.1
	log:
	  level: error
	storage:
	  filesystem:
	    rootdirectory: $TMP/dist
	  delete:
	    enabled: true
	http:
	  addr: 127.0.0.1:$port
	YML
	docker-registry serve "$TMP/config.yml" >"$TMP/dist.log" 2>&1 &
	IREG_PIDS+=($!)
	for i in $(seq 100); do curl -s "http://127.0.0.1:$port/v2/" >/dev/null && break; sleep 0.05; done
	roundtrip "127.0.0.1:$port"
}

@test "skopeo sync of a multi-arch index through ireg" {
	start_ireg "$TMP/root"
	make_image "$TMP/lay" a 16
	make_image "$TMP/lay" b 16
	# An index over the two image manifests, written into the layout.
	da=$(jq -r '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"]=="a")' "$TMP/lay/index.json")
	db=$(jq -r '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"]=="b")' "$TMP/lay/index.json")
	jq -n --argjson a "$da" --argjson b "$db" '{schemaVersion:2, mediaType:"application/vnd.oci.image.index.v1+json",
		manifests:[($a|del(.annotations)+{platform:{os:"linux",architecture:"amd64"}}),
		           ($b|del(.annotations)+{platform:{os:"linux",architecture:"arm64"}})]}' | tr -d '\n' >"$TMP/idx"
	d=$(sha "$TMP/idx")
	cp "$TMP/idx" "$TMP/lay/blobs/sha256/$d"
	jq --arg d "sha256:$d" --arg s "$(stat -c %s "$TMP/idx")" \
		'.manifests += [{mediaType:"application/vnd.oci.image.index.v1+json", digest:$d, size:($s|tonumber), annotations:{"org.opencontainers.image.ref.name":"multi"}}]' \
		"$TMP/lay/index.json" >"$TMP/i2" && mv "$TMP/i2" "$TMP/lay/index.json"
	run skopeo copy --all --dest-tls-verify=false "oci:$TMP/lay:multi" "docker://$REG/multi/app:1"
	assert_success
	skopeo inspect --tls-verify=false --raw "docker://$REG/multi/app:1" >"$TMP/raw"
	assert_equal "$(sha "$TMP/raw")" "$d"
	run skopeo copy --all --src-tls-verify=false "docker://$REG/multi/app:1" "oci:$TMP/out:1"
	assert_success
	assert_equal "$(jq -r '.manifests[0].digest' "$TMP/out/index.json")" "sha256:$d"
}
