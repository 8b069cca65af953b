#!/usr/bin/env bats
# ibuild: Ctrl-C, a context tar on stdin (plain, compressed, hostile), RUN bind-mount cache keys, an oci: base without history,
# --label, --compression zstd, a 20-step cached rebuild.

BUILD_MODE=root
load build-helpers

@test "build: SIGINT stops a running RUN, leaves no processes, mounts or temp dirs" {
	mark="ibuild-int-$$-$RANDOM"
	dockerfile <<DF
FROM testbase:1
RUN echo started; sleep 300 # $mark
DF
	"$IBUILD_BUILD/bin/ibuild" -t int:1 "$T/ctx" >"$T/out" 2>&1 &
	pid=$!
	for i in $(seq 100); do grep -q started "$T/out" && break; sleep 0.1; done
	grep -q started "$T/out"
	kill -INT "$pid"
	run wait "$pid"
	[ "$status" != 0 ]
	run pgrep -f "$mark"
	assert_failure 1 # "no match" (a missing pgrep would be 127)
	run grep -c " $IBUILD_STORE" /proc/self/mountinfo
	assert_output 0
	run find "$IBUILD_STORE/snapshots" -maxdepth 1 -name '.step-*'
	assert_output ""
	run find "$IBUILD_STORE/tmp" -mindepth 1 -maxdepth 1
	assert_output ""
	run skopeo inspect "oci:$IBUILD_STORE:localhost/int:1"
	assert_failure
}

@test "build: CONTEXT - reads a tar from stdin" {
	mkdir -p "$T/src"
	echo from-tar >"$T/src/f"
	printf 'FROM testbase:1\nCOPY f /f\n' >"$T/src/Dockerfile"
	run bash -c "tar -C '$T/src' -cf - . | '$IBUILD_BUILD/bin/ibuild' -q -t stdin:1 -"
	assert_success
	unpack stdin:1
	[ "$(cat "$T/bundle/rootfs/f")" = from-tar ]
}

@test "build: CONTEXT - reads a gzip or zstd compressed tar from stdin" {
	mkdir -p "$T/src/sub"
	echo packed >"$T/src/sub/f"
	printf 'FROM testbase:1\nCOPY sub/f /f\n' >"$T/src/Dockerfile"
	run bash -c "tar -C '$T/src' -cf - . | gzip | '$IBUILD_BUILD/bin/ibuild' -q -t stdin:gz -"
	assert_success
	run bash -c "tar -C '$T/src' -cf - . | zstd -q | '$IBUILD_BUILD/bin/ibuild' -q -t stdin:zst -"
	assert_success
	unpack stdin:zst
	[ "$(cat "$T/bundle/rootfs/f")" = packed ]
}

@test "build: CONTEXT - with a hostile tar (../evil) fails and writes nothing outside" {
	mkdir -p "$T/in"
	python3 - "$T/hostile.tar" <<'PY'
import io, sys, tarfile
with tarfile.open(sys.argv[1], "w") as t:
    for name, data in (("Dockerfile", b"FROM testbase:1\n"), ("../evil", b"pwned\n")):
        i = tarfile.TarInfo(name)
        i.size = len(data)
        t.addfile(i, io.BytesIO(data))
PY
	cd "$T/in"
	run bash -c "'$IBUILD_BUILD/bin/ibuild' -q -t hostile:1 - <'$T/hostile.tar'"
	assert_failure
	assert_output --partial "reading the context tar from stdin: entry '../evil'"
	[ ! -e "$T/evil" ]
	[ ! -e "$T/in/evil" ]
	run find "$IBUILD_STORE" -name evil
	assert_output ""
	# (not find(1): other tests' temp dirs come and go in /tmp meanwhile)
	if [ -e /tmp/evil ]; then [ /tmp/evil -ot "$T/hostile.tar" ]; fi
}

@test "build: RUN --mount=type=bind: changing the bound context file or stage misses the cache" {
	echo one >"$T/ctx/data"
	echo s1 >"$T/ctx/sdata"
	dockerfile <<'DF'
FROM testbase:1 AS src
COPY sdata /sd
FROM testbase:1
RUN --mount=type=bind,source=data,target=/mnt/d cp /mnt/d /copied
RUN --mount=type=bind,from=src,source=/sd,target=/mnt/s cp /mnt/s /from-stage
DF
	run ib -t bind:1 "$T/ctx"
	assert_success
	echo two >"$T/ctx/data"
	run ib -t bind:2 "$T/ctx"
	assert_success
	# only the stage's COPY is a hit
	[ "$(grep -c CACHED <<<"$output")" = 1 ]
	unpack bind:2
	[ "$(cat "$T/bundle/rootfs/copied")" = two ]
	# only the bound stage's content changes: the second RUN runs again
	echo s2 >"$T/ctx/sdata"
	run ib -t bind:3 "$T/ctx"
	assert_success
	# only the first RUN is a hit
	[ "$(grep -c CACHED <<<"$output")" = 1 ]
	unpack bind:3
	[ "$(cat "$T/bundle/rootfs/copied")" = two ]
	[ "$(cat "$T/bundle/rootfs/from-stage")" = s2 ]
	# nothing changed: every step is a cache hit
	run ib -t bind:4 "$T/ctx"
	assert_success
	[ "$(grep -c CACHED <<<"$output")" = 3 ]
}

@test "build: FROM oci:DIR:NAME whose config has no history; --label; zstd layers" {
	# a base made by umoci: its config has no history entries
	umoci init --layout "$T/base" >/dev/null
	umoci new --image "$T/base:b" >/dev/null
	mkdir -p "$T/rootfs-add/etc"
	echo base-file >"$T/rootfs-add/etc/base"
	umoci insert --image "$T/base:b" "$T/rootfs-add/etc/base" /etc/base >/dev/null
	python3 - "$T/base" <<'PY'
import json, sys, hashlib, os
d = sys.argv[1]
idx = json.load(open(f"{d}/index.json"))
m = json.load(open(f"{d}/blobs/sha256/" + idx["manifests"][0]["digest"][7:]))
c = json.load(open(f"{d}/blobs/sha256/" + m["config"]["digest"][7:]))
assert "history" not in c or len(c.get("history", [])) == 0 or True
c.pop("history", None)
b = json.dumps(c).encode()
h = hashlib.sha256(b).hexdigest()
open(f"{d}/blobs/sha256/{h}", "wb").write(b)
m["config"]["digest"] = "sha256:" + h
m["config"]["size"] = len(b)
mb = json.dumps(m).encode()
mh = hashlib.sha256(mb).hexdigest()
open(f"{d}/blobs/sha256/{mh}", "wb").write(mb)
idx["manifests"][0]["digest"] = "sha256:" + mh
idx["manifests"][0]["size"] = len(mb)
json.dump(idx, open(f"{d}/index.json", "w"))
PY
	printf 'FROM oci:%s:b\nCOPY f /f\n' "$T/base" >"$T/ctx/Dockerfile"
	echo f >"$T/ctx/f"
	run ib -q -t fromoci:1 --label org.example.built=yes --compression zstd "$T/ctx"
	assert_success
	cfg=$(config_of fromoci:1)
	[ "$(jq -r '.config.Labels["org.example.built"]' <<<"$cfg")" = yes ]
	# history matches the layers again (buildah needs that)
	[ "$(jq '[.history[] | select(.empty_layer != true)] | length' <<<"$cfg")" = "$(jq '.rootfs.diff_ids | length' <<<"$cfg")" ]
	export_layout fromoci:1
	m=$(jq -r '.manifests[0].digest' "$T/lay/index.json" | cut -d: -f2)
	[ "$(jq -r '.layers[-1].mediaType' "$T/lay/blobs/sha256/$m")" = application/vnd.oci.image.layer.v1.tar+zstd ]
	[ "$(jq -r '.annotations["org.opencontainers.image.base.name"]' "$T/lay/blobs/sha256/$m")" = "oci:$T/base:b" ]
	# (Debian's umoci cannot read zstd layers: check them with zstd and tar)
	first=$(jq -r '.layers[0].digest' "$T/lay/blobs/sha256/$m" | cut -d: -f2)
	last=$(jq -r '.layers[-1].digest' "$T/lay/blobs/sha256/$m" | cut -d: -f2)
	# the base layer is reused as it is (umoci writes a tar GNU tar calls
	# truncated, so compare blobs instead of extracting)
	[ -f "$T/base/blobs/sha256/$first" ]
	[ "$(zcat "$T/lay/blobs/sha256/$first" | head -c 8)" = etc/base ]
	[ "$(zstd -dc "$T/lay/blobs/sha256/$last" | tar -xOf - f)" = f ]
	[ "$(zstd -dc "$T/lay/blobs/sha256/$last" | sha256sum | cut -d' ' -f1)" = "$(jq -r '.rootfs.diff_ids[-1]' <<<"$cfg" | cut -d: -f2)" ]
}

@test "build: a 20-step no-change rebuild runs no step" {
	{
		echo "FROM testbase:1"
		for i in $(seq 10); do
			echo "$i" >"$T/ctx/f$i"
			echo "COPY f$i /f$i"
			echo "ENV E$i=$i"
		done
	} >"$T/ctx/Dockerfile"
	first=$(ib -q -t fast:1 "$T/ctx" | tail -n 1)
	run ib -t fast:1 "$T/ctx"
	assert_success
	# every step a cache hit, the same image (its speed is measured in
	# bench/ibuild-vs-buildah.sh, not here)
	[ "$(grep -c CACHED <<<"$output")" = 20 ]
	[ "$(tail -n 1 <<<"$output")" = "$first" ]
}

@test "build: RUN --network=none, --mount=type=bind from the context and from a stage, tmpfs" {
	echo ctx-data >"$T/ctx/data"
	dockerfile <<'DF'
FROM testbase:1 AS src
RUN echo stage-data >/sd
FROM testbase:1
RUN --network=none cat /proc/net/dev | grep -v -e lo: -e Inter -e face >/ifaces || true
RUN --mount=type=bind,source=data,target=/mnt/d cp /mnt/d /copied
RUN --mount=type=bind,from=src,source=/sd,target=/mnt/s cp /mnt/s /from-stage
RUN --mount=type=tmpfs,target=/scratch echo x >/scratch/x && test -f /scratch/x
DF
	run ib -q -t mnt:1 "$T/ctx"
	assert_success
	unpack mnt:1
	r=$T/bundle/rootfs
	[ ! -s "$r/ifaces" ]
	[ "$(cat "$r/copied")" = ctx-data ]
	[ "$(cat "$r/from-stage")" = stage-data ]
	[ ! -e "$r/mnt/d" ] || [ -z "$(ls -A "$r/mnt/d" 2>/dev/null)" ]
	[ ! -e "$r/scratch/x" ]
}

@test "build: RUN --mount options are checked: a bad key or value names the line, a tmpfs size applies" {
	printf 'FROM testbase:1\nRUN --mount=type=tmpfs,target=/t,siz=64m true\n' >"$T/ctx/Dockerfile"
	run ib -q -t badmount:1 "$T/ctx"
	assert_failure
	assert_output --partial "Dockerfile:2"
	assert_output --partial "unexpected key 'siz'"
	printf 'FROM testbase:1\nRUN --mount=type=cache,target=/c,mode=abc true\n' >"$T/ctx/Dockerfile"
	run ib -q -t badmount:1 "$T/ctx"
	assert_failure
	assert_output --partial "invalid value for mode: 'abc'"
	printf 'FROM testbase:1\nRUN --mount=type=tmpfs,target=/t,size=1m df -k /t | tail -n 1 >/df\n' >"$T/ctx/Dockerfile"
	run ib -q -t tmpsize:1 "$T/ctx"
	assert_success
	unpack tmpsize:1
	# busybox df -k: Filesystem 1K-blocks Used Available Use% Mounted on
	[ "$(awk '{ print $2 }' "$T/bundle/rootfs/df")" = 1024 ]
}

@test "build: COPY --exclude and --parents" {
	mkdir -p "$T/ctx/src/a/b" "$T/ctx/src/c"
	echo keep >"$T/ctx/src/a/b/keep.txt"
	echo drop >"$T/ctx/src/a/b/drop.log"
	echo c >"$T/ctx/src/c/c.txt"
	dockerfile <<'DF'
FROM testbase:1
COPY --exclude=*.log --exclude=c src /ex/
COPY --parents src/a/b/keep.txt src/c/c.txt /par/
DF
	run ib -q -t exc:1 "$T/ctx"
	assert_success
	unpack exc:1
	r=$T/bundle/rootfs
	[ -f "$r/ex/a/b/keep.txt" ] && [ ! -e "$r/ex/a/b/drop.log" ] && [ ! -e "$r/ex/c" ]
	[ "$(cat "$r/par/src/a/b/keep.txt")" = keep ]
	[ "$(cat "$r/par/src/c/c.txt")" = c ]
}

@test "build: a RUN heredoc starting with #! runs with that interpreter" {
	dockerfile <<'DF'
FROM testbase:1
RUN <<EOS
#!/bin/awk -f
BEGIN { print "awk ran" > "/awk-out"; exit 0 }
EOS
RUN <<EOS
echo plain shell >/sh-out
EOS
DF
	run ib -q -t shebang:1 "$T/ctx"
	assert_success
	unpack shebang:1
	[ "$(cat "$T/bundle/rootfs/awk-out")" = "awk ran" ]
	[ "$(cat "$T/bundle/rootfs/sh-out")" = "plain shell" ]
}
