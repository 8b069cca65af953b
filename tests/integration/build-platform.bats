#!/usr/bin/env bats
# ibuild for a platform that is not the host's: a clear warning (RUN steps
# need emulation), and the image says the platform asked for.

BUILD_MODE=root
load build-helpers

host_arch() { case "$(uname -m)" in x86_64) echo amd64 ;; aarch64) echo arm64 ;; *) uname -m ;; esac; }

@test "platform: --platform linux/arm64, FROM scratch without RUN builds with a warning; the config says arm64" {
	[ "$(host_arch)" != arm64 ] || skip "the host is arm64"
	echo hello >"$T/ctx/hello"
	dockerfile <<'DF'
FROM scratch
COPY hello /hello
CMD ["/hello"]
DF
	run ib -q --platform linux/arm64 -t arm:1 "$T/ctx"
	assert_success
	assert_output --partial "warning: stage 1 is for platform linux/arm64, not this host's linux/$(host_arch)"
	assert_output --partial "no RUN step"
	cfg=$(config_of arm:1)
	[ "$(jq -r .architecture <<<"$cfg")" = arm64 ]
	[ "$(jq -r .os <<<"$cfg")" = linux ]
	run skopeo inspect --raw "oci:$IBUILD_STORE:localhost/arm:1"
	assert_success
}

@test "platform: a FROM --platform stage with RUN steps names them in the warning; host stages do not warn" {
	[ "$(host_arch)" != arm64 ] || skip "the host is arm64"
	dockerfile <<'DF'
FROM --platform=linux/arm64 scratch AS foreign
COPY Dockerfile /df
FROM testbase:1
COPY --from=foreign /df /df
RUN echo host >/h
DF
	run ib -t mixed:1 "$T/ctx"
	assert_success
	assert_output --partial "warning: stage 1 is for platform linux/arm64"
	refute_output --partial "stage 2 is for platform"
	dockerfile <<'DF'
FROM --platform=linux/arm64 scratch
RUN ["/nothing"]
DF
	run ib -t fails:1 "$T/ctx"
	assert_failure
	if [ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]; then
		assert_output --partial "its RUN steps run under the emulator registered in binfmt_misc"
	else
		assert_output --partial "its 1 RUN step needs emulation for linux/arm64"
	fi
}

# Tag an index in the store of the images NAME... (each a manifest in the
# store, with its config's os/architecture as the index entry's platform).
make_index() {
	local tag=$1 entries='' img d size cfg os arch blob
	shift
	for img in "$@"; do
		d=$(jq -r --arg n "localhost/$img" '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == $n) | .digest' "$IBUILD_STORE/index.json")
		size=$(stat -c %s "$IBUILD_STORE/blobs/sha256/${d#sha256:}")
		cfg=$(config_of "$img")
		os=$(jq -r .os <<<"$cfg")
		arch=$(jq -r .architecture <<<"$cfg")
		entries+="${entries:+,}{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"$d\",\"size\":$size,\"platform\":{\"os\":\"$os\",\"architecture\":\"$arch\"}}"
	done
	blob=$T/index.json
	printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[%s]}' "$entries" >"$blob"
	d=$(sha256sum "$blob" | cut -d' ' -f1)
	cp "$blob" "$IBUILD_STORE/blobs/sha256/$d"
	"$IBUILD_TOOLS/ocilayout" store-tag "$IBUILD_STORE" "$tag" "sha256:$d"
}

@test "platform: a --platform list is an error saying multi-platform builds are not supported yet" {
	dockerfile <<'DF'
FROM testbase:1
LABEL x=1
DF
	run ib -t multi:1 --platform linux/amd64,linux/arm64 "$T/ctx"
	assert_failure
	assert_output --partial "--platform linux/amd64,linux/arm64: multi-platform builds are not supported yet"
	run skopeo inspect --raw "oci:$IBUILD_STORE:localhost/multi:1"
	assert_failure
}

@test "platform: a platform the base image lacks is an error naming both" {
	[ "$(host_arch)" != arm64 ] || skip "the host is arm64"
	dockerfile <<'DF'
FROM testbase:1
LABEL x=1
DF
	run ib -t wrongarch:1 --platform linux/arm64 "$T/ctx"
	assert_failure
	assert_output --partial "Dockerfile:1"
	assert_output --partial "testbase:1: no image for platform linux/arm64 (the image is for linux/$(host_arch) only"
	run skopeo inspect --raw "oci:$IBUILD_STORE:localhost/wrongarch:1"
	assert_failure
}

@test "platform: an index base gives the requested platform; FROM --platform=\$BUILDPLATFORM and scratch keep working" {
	[ "$(host_arch)" != arm64 ] || skip "the host is arm64"
	echo arm >"$T/ctx/f"
	dockerfile <<'DF'
FROM scratch
COPY f /f
DF
	run ib -q --platform linux/arm64 -t armonly:1 "$T/ctx"
	assert_success
	make_index both:1 testbase:1 armonly:1
	dockerfile <<'DF'
FROM both:1
LABEL x=1
DF
	run ib -q --platform linux/arm64 -t fromidx:1 "$T/ctx"
	assert_success
	[ "$(jq -r .architecture <<<"$(config_of fromidx:1)")" = arm64 ]
	run ib -q -t fromidx-host:1 "$T/ctx"
	assert_success
	[ "$(jq -r .architecture <<<"$(config_of fromidx-host:1)")" = "$(host_arch)" ]
	dockerfile <<'DF'
FROM --platform=$BUILDPLATFORM testbase:1 AS tools
RUN echo built-on-host >/out
FROM scratch
COPY --from=tools /out /out
DF
	run ib -q --platform linux/arm64 -t cross:1 "$T/ctx"
	assert_success
	[ "$(jq -r .architecture <<<"$(config_of cross:1)")" = arm64 ]
}
