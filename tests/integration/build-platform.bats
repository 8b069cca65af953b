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
