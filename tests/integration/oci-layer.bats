#!/usr/bin/env bats
# oci/layer against independent tools: the digests it reports are checked
# with zcat/zstd/sha256sum, its tars are read by GNU tar and Python's tarfile,
# and tars written by those tools (including hostile ones) are applied.

load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'

setup() {
	T=$(mktemp -d "${BATS_TMPDIR:-/tmp}/oci-layer.XXXXXX")
	LAYER=$IBUILD_TOOLS/layer
	mkdir -p "$T/src/etc" "$T/src/bin" "$T/src/empty"
	printf 'key=value\n' >"$T/src/etc/conf"
	head -c 2500000 /dev/urandom >"$T/src/bin/blob"
	seq 1 400000 >"$T/src/etc/numbers"
	printf '#!/bin/sh\n' >"$T/src/bin/tool"
	chmod 4755 "$T/src/bin/tool"
	ln "$T/src/etc/conf" "$T/src/bin/conf-hardlink"
	ln -s ../etc/conf "$T/src/bin/conf-symlink"
	mkfifo "$T/src/fifo"
	touch -h -d '2020-01-02 03:04:05' "$T"/src/etc/conf "$T"/src/bin/* "$T"/src/fifo "$T"/src/etc "$T"/src/bin "$T"/src/empty
}

teardown() {
	rm -rf "$T"
}

# "DIFFID BLOB SIZE" of a written layer
@test "gzip layer: diffID is sha256 of zcat output, blob digest and size match the file" {
	run "$LAYER" write --gzip "$T/src" "$T/l.tgz"
	assert_success
	read -r diffid blob size <<<"$output"
	assert_equal "$diffid" "sha256:$(zcat "$T/l.tgz" | sha256sum | cut -d' ' -f1)"
	assert_equal "$blob" "sha256:$(sha256sum "$T/l.tgz" | cut -d' ' -f1)"
	assert_equal "$size" "$(stat -c %s "$T/l.tgz")"
	gzip -t "$T/l.tgz"
}

@test "parallel gzip: same bytes for 1 and 3 threads, and gzip/python read it" {
	run "$LAYER" write --gzip --threads 1 "$T/src" "$T/one.tgz"
	assert_success
	one=$output
	run "$LAYER" write --gzip --threads 3 --level 9 "$T/src" "$T/nine.tgz"
	assert_success
	run "$LAYER" write --gzip --threads 3 "$T/src" "$T/three.tgz"
	assert_success
	assert_equal "$output" "$one"
	cmp "$T/one.tgz" "$T/three.tgz"
	gzip -t "$T/three.tgz"
	gzip -t "$T/nine.tgz"
	[ "$(stat -c %s "$T/one.tgz")" -gt 2500000 ] # several 1 MiB blocks
	python3 -c 'import gzip,sys,hashlib; print("sha256:"+hashlib.sha256(gzip.open(sys.argv[1]).read()).hexdigest())' "$T/three.tgz" >"$T/py"
	assert_equal "$(cat "$T/py")" "${one%% *}"
}

@test "zstd layer (multithreaded): diffID is sha256 of zstd -dc output" {
	run "$LAYER" write --zstd --threads 2 "$T/src" "$T/l.tzst"
	assert_success
	read -r diffid blob size <<<"$output"
	assert_equal "$diffid" "sha256:$(zstd -q -dc "$T/l.tzst" | sha256sum | cut -d' ' -f1)"
	assert_equal "$blob" "sha256:$(sha256sum "$T/l.tzst" | cut -d' ' -f1)"
	assert_equal "$size" "$(stat -c %s "$T/l.tzst")"
}

@test "GNU tar extracts our layer to the same tree" {
	run "$LAYER" write --gzip "$T/src" "$T/l.tgz"
	assert_success
	mkdir "$T/gnu"
	tar -C "$T/gnu" --xattrs -xpzf "$T/l.tgz"
	(cd "$T/src" && find . -mindepth 1 -printf '%p %y %m %U:%G %s %TY-%Tm-%Td %l\n' | sort) >"$T/want"
	(cd "$T/gnu" && find . -mindepth 1 -printf '%p %y %m %U:%G %s %TY-%Tm-%Td %l\n' | sort) >"$T/got"
	diff "$T/want" "$T/got"
	cmp "$T/src/bin/blob" "$T/gnu/bin/blob"
	[ "$(stat -c %i "$T/gnu/etc/conf")" = "$(stat -c %i "$T/gnu/bin/conf-hardlink")" ]
}

@test "Python tarfile sees a PAX layer: sorted paths, numeric ids only, hard link to the first path" {
	run "$LAYER" write "$T/src" "$T/l.tar"
	assert_success
	run python3 - "$T/l.tar" <<'EOF'
import sys, tarfile
t = tarfile.open(sys.argv[1])
names, links = [], []
for m in t:
    assert m.uname == "" and m.gname == "", (m.name, m.uname, m.gname)
    assert "atime" not in m.pax_headers and "ctime" not in m.pax_headers
    names.append(m.name)
    if m.islnk():
        links.append("link %s -> %s" % (m.name, m.linkname))
key = lambda n: n.replace("/", "\0")
assert names == sorted(names, key=key), names
print("\n".join(names + links))
EOF
	assert_success
	assert_line "link etc/conf -> bin/conf-hardlink"
	assert_line --index 0 "bin"
}

@test "SOURCE_DATE_EPOCH: a copy with new mtimes gives the same digests" {
	run "$LAYER" write --gzip --sde 1000000000 "$T/src" "$T/a.tgz"
	assert_success
	first=$output
	cp -a "$T/src" "$T/copy"
	find "$T/copy" -exec touch -h {} +
	run "$LAYER" write --gzip --sde 1000000000 "$T/copy" "$T/b.tgz"
	assert_success
	assert_equal "$output" "$first"
	cmp "$T/a.tgz" "$T/b.tgz"
	# and every mtime in it is the epoch
	run bash -c "tar -tvzf '$T/a.tgz' --full-time | grep -vc '2001-09-09 01:46:40'"
	assert_output "0"
}

@test "apply detects the compression by magic, whatever the file is called" {
	tar -C "$T/src" --format=pax -cf - . | gzip >"$T/gnu.tar"
	tar -C "$T/src" --format=pax -cf - . | zstd -q >"$T/gnu.gz"
	run "$LAYER" apply "$T/gnu.tar" "$T/out1"
	assert_success
	assert_output --partial " gzip "
	run "$LAYER" apply "$T/gnu.gz" "$T/out2"
	assert_success
	assert_output --partial " zstd "
	read -r diffid _ <<<"$output"
	assert_equal "$diffid" "sha256:$(zstd -q -dc "$T/gnu.gz" | sha256sum | cut -d' ' -f1)"
	cmp "$T/src/bin/blob" "$T/out2/bin/blob"
	[ -u "$T/out2/bin/tool" ]
	[ -p "$T/out2/fifo" ]
	[ "$(readlink "$T/out2/bin/conf-symlink")" = "../etc/conf" ]
}

@test "apply --expect-diffid refuses a layer whose diffID differs" {
	"$LAYER" write --gzip "$T/src" "$T/l.tgz" >/dev/null
	run "$LAYER" apply --expect-diffid "sha256:$(printf x | sha256sum | cut -d' ' -f1)" "$T/l.tgz" "$T/out"
	assert_failure
	assert_output --partial "diffID"
	assert_output --partial "code 1004"
}

# Hostile tars written by Python's tarfile (an independent writer).
hostile() { # name, python statements adding members to tarfile t
	python3 - "$T/$1.tar" "$T/outside" <<EOF
import io, sys, tarfile
out, outside = sys.argv[1], sys.argv[2]
t = tarfile.open(out, "w", format=tarfile.PAX_FORMAT)
def f(name, data=b"evil"):
    i = tarfile.TarInfo(name); i.size = len(data); t.addfile(i, io.BytesIO(data))
def l(name, target, kind=tarfile.SYMTYPE):
    i = tarfile.TarInfo(name); i.type = kind; i.linkname = target; t.addfile(i)
def d(name):
    i = tarfile.TarInfo(name); i.type = tarfile.DIRTYPE; i.mode = 0o755; t.addfile(i)
$2
t.close()
EOF
}

@test "hostile tars are refused and the sentinel outside is untouched (both resolvers)" {
	mkdir "$T/outside"
	printf precious >"$T/outside/sentinel"
	touch -d '2001-02-03 04:05:06' "$T/outside/sentinel" "$T/outside"
	hostile dotdot 'f("../outside/sentinel")'
	hostile abs 'f("/tmp/ibuild-layer-test-evil")'
	hostile inner 'd("a"); f("a/../../outside/sentinel")'
	hostile symabs 'l("l", outside); f("l/sentinel")'
	hostile symrel 'l("l", "../outside"); f("l/evil")'
	hostile symchain 'd("x"); l("x/up", ".."); l("y", "x/up/x/up/.."); f("y/outside/sentinel")'
	hostile hardabs 'l("p", "/etc/passwd", tarfile.LNKTYPE)'
	hostile hardup 'l("p", "../outside/sentinel", tarfile.LNKTYPE)'
	hostile hardsym 'l("l", outside); l("p", "l/sentinel", tarfile.LNKTYPE)'
	hostile whdotdot 'd("a"); f("a/.wh..", b"")'
	hostile whup 'f("../.wh.outside", b"")'
	hostile whsym 'l("l", outside); f("l/.wh.sentinel", b"")'
	hostile opqsym 'l("l", outside); f("l/.wh..wh..opq", b"")'
	for name in dotdot abs inner symabs symrel symchain hardabs hardup hardsym whdotdot whup whsym opqsym; do
		for mode in "" --no-openat2; do
			rm -rf "$T/target"
			run "$LAYER" apply $mode "$T/$name.tar" "$T/target"
			if [ "$status" -eq 0 ]; then
				fail "$name $mode was applied: $output"
			fi
			assert_output --partial "code 1019" # ERR_UNSAFE_PATH
			assert_equal "$(cat "$T/outside/sentinel")" precious
			assert_equal "$(stat -c '%Y %h' "$T/outside/sentinel")" "$(date -d '2001-02-03 04:05:06' +%s) 1"
			assert_equal "$(ls -A "$T/outside")" sentinel
			assert_equal "$(stat -c %Y "$T/outside")" "$(date -d '2001-02-03 04:05:06' +%s)"
		done
	done
	[ ! -e /tmp/ibuild-layer-test-evil ]
}
