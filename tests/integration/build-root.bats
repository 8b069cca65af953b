#!/usr/bin/env bats
# ibuild end to end as root: every instruction, COPY rules, cache, outputs,
# failures; images checked with umoci, skopeo, oci-image-tool and tar.

BUILD_MODE=root
load build-helpers

@test "build: the base from scratch has busybox applets, history and validates" {
	export_layout testbase:1
	run oci-image-tool validate --type image "$T/lay"
	assert_success
	umoci unpack --rootless --image "$T/lay:t" "$T/bundle" >/dev/null
	[ -x "$T/bundle/rootfs/bin/busybox" ]
	[ "$(readlink "$T/bundle/rootfs/bin/sh")" = /bin/busybox ]
	[ -f "$T/bundle/rootfs/data/keep/gone" ]
	cfg=$(config_of testbase:1)
	[ "$(jq -r '.config.Cmd | join(" ")' <<<"$cfg")" = /bin/sh ]
	# 4 layers, 5 history entries, the CMD one empty
	[ "$(jq '.rootfs.diff_ids | length' <<<"$cfg")" = 4 ]
	[ "$(jq '[.history[] | select(.empty_layer != true)] | length' <<<"$cfg")" = 4 ]
	[ "$(jq -r '.history[-1].empty_layer' <<<"$cfg")" = true ]
}

@test "build: config instructions land in the OCI config" {
	dockerfile <<'DF'
FROM testbase:1
ENV A=1 B="two words"
LABEL org.example.x=y "k 2"=v2
EXPOSE 80 53/udp
USER app
WORKDIR /srv/app
VOLUME ["/data"]
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=5s --retries=3 CMD wget -q localhost || exit 1
SHELL ["/bin/sh", "-ec"]
ENTRYPOINT ["/bin/echo"]
CMD hello
ONBUILD RUN echo triggered
DF
	run ib -q -t cfg:1 "$T/ctx"
	assert_success
	assert_output --regexp '^sha256:[0-9a-f]{64}$'
	cfg=$(config_of cfg:1)
	[ "$(jq -r '.config.Env | index("A=1") != null' <<<"$cfg")" = true ]
	[ "$(jq -r '.config.Env | index("B=two words") != null' <<<"$cfg")" = true ]
	jq -e '.config.Env | map(startswith("PATH=")) | any' <<<"$cfg"
	[ "$(jq -r '.config.Labels["org.example.x"]' <<<"$cfg")" = y ]
	[ "$(jq -r '.config.Labels["k 2"]' <<<"$cfg")" = v2 ]
	[ "$(jq -r '.config.ExposedPorts | keys | join(",")' <<<"$cfg")" = "53/udp,80/tcp" ]
	[ "$(jq -r .config.User <<<"$cfg")" = app ]
	[ "$(jq -r .config.WorkingDir <<<"$cfg")" = /srv/app ]
	[ "$(jq -r '.config.Volumes | keys[0]' <<<"$cfg")" = /data ]
	[ "$(jq -r .config.StopSignal <<<"$cfg")" = SIGTERM ]
	[ "$(jq -r '.config.Healthcheck.Test | join("|")' <<<"$cfg")" = "CMD-SHELL|wget -q localhost || exit 1" ]
	[ "$(jq -r .config.Healthcheck.Interval <<<"$cfg")" = 5000000000 ]
	[ "$(jq -r .config.Healthcheck.Retries <<<"$cfg")" = 3 ]
	[ "$(jq -r '.config.Shell | join(" ")' <<<"$cfg")" = "/bin/sh -ec" ]
	[ "$(jq -r '.config.Entrypoint | join(" ")' <<<"$cfg")" = /bin/echo ]
	# shell-form CMD goes through SHELL
	[ "$(jq -r '.config.Cmd | join(" ")' <<<"$cfg")" = "/bin/sh -ec hello" ]
	[ "$(jq -r '.config.OnBuild[0]' <<<"$cfg")" = "RUN echo triggered" ]
	# WORKDIR made a layer for the missing dir; the others are empty_layer
	[ "$(jq '[.history[] | select(.empty_layer != true)] | length' <<<"$cfg")" = 5 ]
	unpack cfg:1
	[ -d "$T/bundle/rootfs/srv/app" ]
	# skopeo reads the same fields
	run skopeo inspect --config "oci:$IBUILD_STORE:localhost/cfg:1"
	assert_success
	assert_output --partial '"WorkingDir": "/srv/app"'
}

@test "build: ENTRYPOINT resets an inherited CMD; ONBUILD triggers of the base run first" {
	dockerfile <<'DF'
FROM testbase:1
ONBUILD RUN echo from-trigger >/trigger
DF
	ib -q -t onb:1 "$T/ctx"
	dockerfile <<'DF'
FROM onb:1
ENTRYPOINT ["/bin/cat"]
DF
	run ib -t child:1 "$T/ctx"
	assert_success
	assert_output --partial "(onbuild) RUN echo from-trigger"
	cfg=$(config_of child:1)
	[ "$(jq -r .config.Cmd <<<"$cfg")" = null ]
	[ "$(jq -r .config.OnBuild <<<"$cfg")" = null ]
	unpack child:1
	[ "$(cat "$T/bundle/rootfs/trigger")" = from-trigger ]
}

@test "build: RUN deletes become whiteouts; chown keeps numeric ids" {
	dockerfile <<'DF'
FROM testbase:1
RUN rm /data/keep/gone && echo new >/data/new && mkdir /owned && echo o >/owned/f && chown -R 123:456 /owned
DF
	ib -q -t wh:1 "$T/ctx"
	unpack wh:1
	[ ! -e "$T/bundle/rootfs/data/keep/gone" ]
	[ -f "$T/bundle/rootfs/data/keep/k" ]
	[ "$(cat "$T/bundle/rootfs/data/new")" = new ]
	# the last layer's tar: a .wh. entry and numeric owners
	layer=$(jq -r '.layers[-1].digest' "$T/lay/blobs/sha256/$(jq -r '.manifests[0].digest' "$T/lay/index.json" | cut -d: -f2)" | cut -d: -f2)
	run tar -tzvf "$T/lay/blobs/sha256/$layer" --numeric-owner
	assert_success
	assert_output --partial "data/keep/.wh.gone"
	assert_output --regexp "123/456 .* owned/f"
}

@test "build: RUN false fails naming the step, and names nothing" {
	dockerfile <<'DF'
FROM testbase:1
RUN echo before-failure
RUN echo some output; false
DF
	run ib -t fails:1 "$T/ctx"
	assert_failure
	assert_output --partial "Dockerfile:3: RUN echo some output; false: exit status 1"
	assert_output --partial "some output"
	run skopeo inspect "oci:$IBUILD_STORE:localhost/fails:1"
	assert_failure
	# no step dirs left behind
	run find "$IBUILD_STORE/snapshots" -maxdepth 1 -name '.step-*'
	assert_output ""
	run find "$IBUILD_STORE/tmp" -mindepth 1 -maxdepth 1
	assert_output ""
}

@test "build: COPY rules (dir contents, trailing slash, globs, WORKDIR-relative, --chown/--chmod, .dockerignore)" {
	mkdir -p "$T/ctx/dir/sub" "$T/ctx/ign"
	echo a >"$T/ctx/dir/a"
	echo b >"$T/ctx/dir/sub/b"
	echo x1 >"$T/ctx/x1.txt"
	echo x2 >"$T/ctx/x2.txt"
	echo secret >"$T/ctx/ign/s"
	echo single >"$T/ctx/single"
	printf 'ign\n*.tmp\n' >"$T/ctx/.dockerignore"
	echo t >"$T/ctx/junk.tmp"
	dockerfile <<'DF'
FROM testbase:1
COPY dir /d1
COPY dir /d2/
COPY *.txt /globs/
WORKDIR /w
COPY single rel
COPY --chown=app:staff --chmod=0640 single /owned
COPY . /all/
DF
	ib -q -t cp:1 "$T/ctx"
	unpack cp:1
	r=$T/bundle/rootfs
	[ "$(cat "$r/d1/a")" = a ] && [ "$(cat "$r/d1/sub/b")" = b ]
	[ -f "$r/d2/a" ] && [ ! -e "$r/d2/dir" ]
	[ "$(cat "$r/globs/x1.txt")$(cat "$r/globs/x2.txt")" = x1x2 ]
	[ "$(cat "$r/w/rel")" = single ]
	[ ! -e "$r/all/ign" ] && [ ! -e "$r/all/junk.tmp" ] && [ -f "$r/all/dir/sub/b" ]
	layer=$(jq -r '.layers[-2].digest' "$T/lay/blobs/sha256/$(jq -r '.manifests[0].digest' "$T/lay/index.json" | cut -d: -f2)" | cut -d: -f2)
	run tar -tzvf "$T/lay/blobs/sha256/$layer" --numeric-owner
	assert_output --regexp "-rw-r----- 1000/50 .* owned"
}

@test "build: a context symlink to /etc/passwd never copies the host file" {
	ln -s /etc/passwd "$T/ctx/link"
	ln -s ../../../../../etc/passwd "$T/ctx/link2"
	dockerfile <<'DF'
FROM testbase:1
COPY link /copied
DF
	run ib -q -t sym:1 "$T/ctx"
	assert_failure
	assert_output --partial "not found"
	mkdir -p "$T/ctx/etc"
	echo inside >"$T/ctx/etc/passwd"
	dockerfile <<'DF'
FROM testbase:1
COPY link /copied
COPY link2 /copied2
DF
	run ib -q -t sym:2 "$T/ctx"
	assert_success
	unpack sym:2
	[ "$(cat "$T/bundle/rootfs/copied")" = inside ]
	[ "$(cat "$T/bundle/rootfs/copied2")" = inside ]
}

@test "build: the cache hits every step, and a changed COPY source reruns from there" {
	echo "$RANDOM$RANDOM" >"$T/ctx/f1"
	echo two >"$T/ctx/f2"
	dockerfile <<'DF'
FROM testbase:1
COPY f1 /f1
RUN cat /f1 >/f1.copy
COPY f2 /f2
RUN cat /f2 >/f2.copy
ENV X=1
DF
	run ib -t cache:1 "$T/ctx"
	assert_success
	refute_output --partial CACHED
	d1=${lines[-1]}
	run ib -t cache:1 "$T/ctx"
	assert_success
	[ "$(grep -c CACHED <<<"$output")" = 5 ]
	[ "${lines[-1]}" = "$d1" ]
	echo changed >"$T/ctx/f2"
	run ib -t cache:1 "$T/ctx"
	assert_success
	[ "$(grep -c CACHED <<<"$output")" = 2 ]
	unpack cache:1
	[ "$(cat "$T/bundle/rootfs/f2.copy")" = changed ]
	run ib --no-cache -q -t cache:1 "$T/ctx"
	assert_success
	refute_output --partial CACHED
}

@test "build: SOURCE_DATE_EPOCH gives the same digest in two clean stores" {
	echo data >"$T/ctx/f"
	dockerfile <<'DF'
FROM testbase:1
COPY f /f
RUN echo hi >/hi
DF
	a=$(SOURCE_DATE_EPOCH=1700000000 IBUILD_STORE=$T/s1 ib -q "$T/ctx" 2>/dev/null || true)
	# a clean store needs the base: export it there first
	skopeo copy -q "oci:$B/store:localhost/testbase:1" "oci:$T/s1:localhost/testbase:1"
	skopeo copy -q "oci:$B/store:localhost/testbase:1" "oci:$T/s2:localhost/testbase:1"
	a=$(SOURCE_DATE_EPOCH=1700000000 IBUILD_STORE=$T/s1 ib -q "$T/ctx")
	b=$(SOURCE_DATE_EPOCH=1700000000 IBUILD_STORE=$T/s2 ib -q "$T/ctx")
	[ -n "$a" ] && [ "$a" = "$b" ]
	skopeo inspect --config --raw "oci:$T/s1:$(jq -r '.manifests[-1].annotations["org.opencontainers.image.ref.name"] // empty' "$T/s1/index.json")" >/dev/null || true
}

@test "build: multi-stage with --target and COPY --from" {
	dockerfile <<'DF'
FROM testbase:1 AS one
RUN echo one >/one && mkdir -p /out/sub && echo deep >/out/sub/f

FROM testbase:1 AS unused
RUN exit 7

FROM testbase:1 AS two
COPY --from=one /one /from-one
COPY --from=one /out /out2

FROM two AS three
RUN echo three >/three
DF
	run ib -t ms:1 --target two "$T/ctx"
	assert_success
	refute_output --partial "RUN exit 7"
	refute_output --partial "/three"
	unpack ms:1
	[ "$(cat "$T/bundle/rootfs/from-one")" = one ]
	[ "$(cat "$T/bundle/rootfs/out2/sub/f")" = deep ]
	[ ! -e "$T/bundle/rootfs/three" ]
}

@test "build: --output oci, oci-archive and docker-archive" {
	dockerfile <<'DF'
FROM testbase:1
RUN echo x >/x
DF
	run ib -q -t out:1 --output "type=oci,dest=$T/oci" "$T/ctx"
	assert_success
	run skopeo inspect "oci:$T/oci:1"
	assert_success
	run ib -q -t out:1 --output "type=oci-archive,dest=$T/img.tar" "$T/ctx"
	assert_success
	run skopeo inspect "oci-archive:$T/img.tar:out:1" # the whole name: podman load names it localhost/out:1
	assert_success
	run ib -q -t out:1 --output "type=docker-archive,dest=$T/docker.tar" "$T/ctx"
	assert_success
	run skopeo inspect "docker-archive:$T/docker.tar"
	assert_success
	[ "$(tar -xOf "$T/docker.tar" manifest.json | jq -r '.[0].RepoTags[0]')" = out:1 ]
	tar -xOf "$T/docker.tar" manifest.json | jq -e '.[0].Layers | length == 5'
}

@test "build: --secret is visible to RUN and never stored" {
	echo "s3cr3t-$RANDOM" >"$T/secret"
	dockerfile <<'DF'
FROM testbase:1
RUN --mount=type=secret,id=tok cat /run/secrets/tok >/dev/null && cp /run/secrets/tok /seen-len && wc -c </run/secrets/tok >/len && rm /seen-len
RUN --mount=type=secret,id=tok,target=/s test -s /s
DF
	run ib -q -t sec:1 --secret "id=tok,src=$T/secret" "$T/ctx"
	assert_success
	export_layout sec:1
	s=$(cat "$T/secret")
	for f in "$T"/lay/blobs/sha256/*; do
		! (zcat -f "$f" 2>/dev/null | grep -q "$s")
		! grep -q "$s" "$f"
	done
	umoci unpack --rootless --image "$T/lay:t" "$T/bundle" >/dev/null
	[ ! -e "$T/bundle/rootfs/run/secrets/tok" ]
	[ "$(cat "$T/bundle/rootfs/len")" -gt 0 ]
}

@test "build: ADD extracts a local tar; heredoc COPY and RUN; -f - reads stdin" {
	mkdir -p "$T/src/t"
	echo inside-tar >"$T/src/t/file"
	tar -czf "$T/ctx/arch.tar.gz" -C "$T/src" t
	run ib -q -t add:1 -f - "$T/ctx" <<'DF'
FROM testbase:1
ADD arch.tar.gz /x/
COPY <<EOT /etc/motd
hello motd
EOT
RUN <<EOS
set -e
echo from-heredoc >/h
EOS
DF
	assert_success
	unpack add:1
	[ "$(cat "$T/bundle/rootfs/x/t/file")" = inside-tar ]
	[ ! -e "$T/bundle/rootfs/x/arch.tar.gz" ]
	[ "$(cat "$T/bundle/rootfs/etc/motd")" = "hello motd" ]
	[ "$(cat "$T/bundle/rootfs/h")" = from-heredoc ]
}

@test "build: build args reach RUN but not the config; bad input is refused clearly" {
	dockerfile <<'DF'
FROM testbase:1
ARG V=default
RUN echo "$V" >/v
DF
	ib -q -t args:1 --build-arg V=given "$T/ctx"
	unpack args:1
	[ "$(cat "$T/bundle/rootfs/v")" = given ]
	run bash -c "skopeo inspect --config --raw oci:$IBUILD_STORE:localhost/args:1 | grep -c 'V=given'"
	assert_output 0
	run ib --bogus "$T/ctx"
	assert_failure 2
	assert_output --partial "unknown option --bogus"
	run ib -q "$T/nope"
	assert_failure
	assert_output --partial "nope"
	printf 'FROM testbase:1\nCOPY missing /x\n' >"$T/ctx/Dockerfile"
	run ib -q "$T/ctx"
	assert_failure
	assert_output --partial "Dockerfile:2"
	assert_output --partial "missing"
}

@test "build: independent stages run in parallel (each waits for the other to start)" {
	dockerfile <<'DF'
FROM testbase:1 AS a
ARG ID
RUN --mount=type=cache,id=sync-${ID},target=/sync touch /sync/a && i=0; while [ ! -e /sync/b ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done; test -e /sync/b && echo a >/a
FROM testbase:1 AS b
ARG ID
RUN --mount=type=cache,id=sync-${ID},target=/sync touch /sync/b && i=0; while [ ! -e /sync/a ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done; test -e /sync/a && echo b >/b
FROM testbase:1
COPY --from=a /a /a
COPY --from=b /b /b
DF
	run ib -q -t par:1 --jobs 2 --build-arg ID=$$-$RANDOM "$T/ctx"
	assert_success
	unpack par:1
	[ "$(cat "$T/bundle/rootfs/a")$(cat "$T/bundle/rootfs/b")" = ab ]
	# with --jobs 1 the first stage times out waiting: the test can fail
	run ib -q -t par:2 --jobs 1 --build-arg ID=$$-$RANDOM-x "$T/ctx"
	assert_failure
	assert_output --partial "exit status 1"
}

@test "build: ADD URL downloads (mode 0600, --checksum verified, not extracted)" {
	mkdir -p "$T/www"
	echo "remote $RANDOM" >"$T/www/file.txt"
	tar -czf "$T/www/a.tar.gz" -C "$T/www" file.txt
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	python3 -m http.server --bind 127.0.0.1 --directory "$T/www" "$port" >/dev/null 2>&1 &
	pid=$!
	for i in $(seq 100); do curl -sf -o /dev/null "http://127.0.0.1:$port/file.txt" && break; sleep 0.05; done
	sum=$(sha256sum "$T/www/file.txt" | cut -d' ' -f1)
	dockerfile <<DF
FROM testbase:1
ADD --checksum=sha256:$sum http://127.0.0.1:$port/file.txt /dl/
ADD http://127.0.0.1:$port/a.tar.gz /dl/a.tar.gz
DF
	run ib -q -t url:1 "$T/ctx"
	ok=$status
	printf 'FROM testbase:1\nADD --checksum=sha256:%064d http://127.0.0.1:%s/file.txt /x\n' 0 "$port" >"$T/ctx/Dockerfile"
	run ib -q -t url:2 "$T/ctx"
	bad_status=$status bad_output=$output
	kill "$pid"; wait "$pid" 2>/dev/null || true
	[ "$ok" = 0 ]
	[ "$bad_status" != 0 ]
	[[ "$bad_output" == *"checksum mismatch"* ]]
	unpack url:1
	cmp "$T/www/file.txt" "$T/bundle/rootfs/dl/file.txt"
	[ "$(stat -c %a "$T/bundle/rootfs/dl/file.txt")" = 600 ]
	cmp "$T/www/a.tar.gz" "$T/bundle/rootfs/dl/a.tar.gz"
}
