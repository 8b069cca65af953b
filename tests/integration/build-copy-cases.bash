# COPY/ADD cases shared by build-copy.bats (root) and
# build-copy-rootless.bats (an unprivileged user with a subuid range): each
# case_* function is one test body.  Load after build-helpers.

# The tar listing (numeric owners) of layer INDEX (default -1: the last) of
# the image exported by export_layout/unpack.
layer_list() {
	local idx=${1:--1} m l
	m=$(jq -r '.manifests[0].digest' "$T/lay/index.json" | cut -d: -f2)
	l=$(jq -r ".layers[$idx].digest" "$T/lay/blobs/sha256/$m" | cut -d: -f2)
	tar -tzvf "$T/lay/blobs/sha256/$l" --numeric-owner
}

# The digest of layer INDEX of image NAME in the store.
layer_digest() {
	local name=$1 idx=$2
	skopeo inspect --raw "oci:$IBUILD_STORE:localhost/$name" | jq -r ".layers[$idx].digest"
}

# COPY --from a stage whose files belong to uid 1000 with modes 0600/0700:
# rootless they are unreadable from outside the build user namespace.
case_from_unreadable() {
	dockerfile <<'DF'
FROM testbase:1 AS a
RUN mkdir -p /src/priv/deeper && echo secret >/src/priv/s && echo deep >/src/priv/deeper/d && \
    echo pf >/src/f600 && echo r >/src/rootfile && \
    chmod 0600 /src/f600 /src/priv/s /src/priv/deeper/d && chmod 0700 /src/priv /src/priv/deeper && \
    chown -R 1000:1000 /src/priv /src/f600
FROM testbase:1
COPY --from=a /src/ /out/
COPY --from=a --chown=app:staff /src/priv /chowned
COPY --from=a /src/priv/s /single
DF
	run ib -q -t fromunread:1 "$T/ctx"
	assert_success
	unpack fromunread:1
	r=$T/bundle/rootfs
	[ "$(cat "$r/out/f600")" = pf ]
	[ "$(cat "$r/out/priv/s")" = secret ]
	[ "$(cat "$r/out/priv/deeper/d")" = deep ]
	[ "$(cat "$r/chowned/deeper/d")" = deep ]
	[ "$(cat "$r/single")" = secret ]
	# owners and modes as in the stage (BuildKit keeps a stage file's owner)
	run layer_list -3
	assert_output --regexp "-rw------- 1000/1000 .* out/f600"
	assert_output --regexp "drwx------ 1000/1000 .* out/priv/"
	assert_output --regexp "drwx------ 1000/1000 .* out/priv/deeper/"
	assert_output --regexp "-rw------- 1000/1000 .* out/priv/deeper/d"
	assert_output --regexp "-rw-r--r-- 0/0 .* out/rootfile"
	run layer_list -2
	assert_output --regexp "drwx------ 1000/50 .* chowned/"
	assert_output --regexp "-rw------- 1000/50 .* chowned/deeper/d"
	run layer_list -1
	assert_output --regexp "-rw------- 1000/1000 .* single"
	# the cache key reads the same files: a rebuild is all hits
	run ib -t fromunread:1 "$T/ctx"
	assert_success
	[ "$(grep -c CACHED <<<"$output")" = 4 ]
}

# Globs in every component of a COPY --from source, and --parents.
case_from_globs() {
	dockerfile <<'DF'
FROM testbase:1 AS a
RUN mkdir -p /g/a1/x /g/a2/y /g/b1/x /g/a3/x && echo 1 >/g/a1/x/f1.txt && echo 2 >/g/a2/y/f2.txt && \
    echo 3 >/g/b1/x/f3.txt && echo 4 >/g/a1/x/f4.log && echo 5 >/g/a3/x/f5.txt
FROM testbase:1
COPY --from=a /g/a[12]/*/*.txt /flat/
COPY --from=a --parents /g/a?/*/f[0-9].txt /par/
COPY --from=a /g/*/x/f4.l?g /single
COPY --from=a g/a3/* /dirglob/
COPY --from=a --parents /g/./a1/**/*.txt /g/./*/y/f2.txt /piv/
COPY --from=a --parents /g/**/f5.txt /star/
DF
	run ib -q -t fromglob:1 "$T/ctx"
	assert_success
	unpack fromglob:1
	r=$T/bundle/rootfs
	[ "$(cat "$r/flat/f1.txt")$(cat "$r/flat/f2.txt")" = 12 ]
	[ "$(ls "$r/flat" | wc -l)" = 2 ]
	[ "$(cat "$r/par/g/a1/x/f1.txt")$(cat "$r/par/g/a2/y/f2.txt")$(cat "$r/par/g/a3/x/f5.txt")" = 125 ]
	[ ! -e "$r/par/g/b1" ] && [ ! -e "$r/par/g/a1/x/f4.log" ]
	[ -f "$r/single" ] && [ "$(cat "$r/single")" = 4 ]
	# a matched directory copies its content, as for the context
	[ "$(cat "$r/dirglob/f5.txt")" = 5 ]
	# --parents keeps only what follows a "/./"; "**" spans components
	[ "$(cat "$r/piv/a1/x/f1.txt")$(cat "$r/piv/a2/y/f2.txt")" = 12 ]
	[ ! -e "$r/piv/g" ] && [ ! -e "$r/piv/a1/x/f4.log" ]
	[ "$(cat "$r/star/g/a3/x/f5.txt")" = 5 ] && [ "$(find "$r/star" -type f | wc -l)" = 1 ]
	# nothing matches: an error naming the pattern
	printf 'FROM testbase:1 AS a\nFROM testbase:1\nCOPY --from=a /nope/*/x* /n/\n' >"$T/ctx/Dockerfile"
	own
	run ib -q -t fromglob:2 "$T/ctx"
	assert_failure
	assert_output --partial "no source files match /nope/*/x*"
	# several matches need a directory destination
	printf 'FROM testbase:1\nCOPY --from=testbase:1 /bin/ca* /notadir\n' >"$T/ctx/Dockerfile"
	own
	run ib -q -t fromglob:3 "$T/ctx"
	assert_failure
	assert_output --partial "must be a directory"
}

# COPY --link: the layer does not depend on the layers below; a plain
# COPY resolves its destination through the base's symlinks.
case_link() {
	echo "linked $RANDOM" >"$T/ctx/f"
	own
	dockerfile <<'DF'
FROM testbase:1
ARG V
RUN echo "$V" >/v && mkdir -p -m 0750 /real && mkdir /sub && ln -s /real /sub/abs && ln -s ../real /sub/rel
COPY --link f /app/deep/f
COPY f /sub/abs/g
COPY f /sub/rel/h
COPY --link f /sub/abs/f
DF
	run ib -q -t link:1 --build-arg V=one "$T/ctx"
	assert_success
	run ib -q -t link:2 --build-arg V=two "$T/ctx"
	assert_success
	# the RUN layers differ, the --link layers are the same blobs
	[ "$(layer_digest link:1 -5)" != "$(layer_digest link:2 -5)" ]
	[ "$(layer_digest link:1 -4)" = "$(layer_digest link:2 -4)" ]
	[ "$(layer_digest link:1 -1)" = "$(layer_digest link:2 -1)" ]
	# (reused from the store's --link records, not written again)
	[ "$(find "$IBUILD_STORE/cache" -maxdepth 1 -name 'link-*' | wc -l)" -ge 2 ]
	unpack link:2
	# missing parents are made in the layer itself, 0755 root
	run layer_list -4
	assert_output --regexp "drwxr-xr-x 0/0 .* app/"
	assert_output --regexp "drwxr-xr-x 0/0 .* app/deep/"
	# a plain COPY resolves the destination through the base's symlinks
	# (absolute and relative targets) and keeps the existing dir as the
	# base has it (mode 0750 here) ...
	run layer_list -3
	assert_output --regexp "drwxr-x--- 0/0 .* real/"
	assert_output --regexp " real/g"
	refute_output --partial "sub"
	run layer_list -2
	assert_output --regexp " real/h"
	refute_output --partial "sub"
	# ... --link never does: the path is made of plain 0755 dirs
	run layer_list -1
	assert_output --regexp "drwxr-xr-x 0/0 .* sub/abs/"
	assert_output --regexp " sub/abs/f"
	refute_output --partial "real"
	cmp "$T/ctx/f" "$T/bundle/rootfs/app/deep/f"
	cmp "$T/ctx/f" "$T/bundle/rootfs/real/g"
	cmp "$T/ctx/f" "$T/bundle/rootfs/real/h"
	[ -d "$T/bundle/rootfs/sub/abs" ] && [ ! -L "$T/bundle/rootfs/sub/abs" ]
}

# ADD of local archives: every compression libarchive detects, owners from
# the archive (unless --chown), a non-archive with a .tar name copied as
# is, absolute names kept below the destination, ".." refused.
case_add_archives() {
	mkdir -p "$T/src/t/sub"
	echo inside >"$T/src/t/file"
	echo deeper >"$T/src/t/sub/d"
	tar -cf "$T/ctx/arch.tar" --owner=1234 --group=567 --numeric-owner -C "$T/src" t
	gzip -c "$T/ctx/arch.tar" >"$T/ctx/arch.tar.gz"
	xz -c "$T/ctx/arch.tar" >"$T/ctx/arch.tar.xz"
	zstd -q -c "$T/ctx/arch.tar" >"$T/ctx/arch.tar.zst"
	bzip2 -c "$T/ctx/arch.tar" >"$T/ctx/arch.tar.bz2"
	echo "not an archive" >"$T/ctx/notarch.tar"
	python3 - "$T/ctx" <<'PY'
import io, sys, tarfile
d = sys.argv[1]
def mk(name, entries):
    with tarfile.open(f"{d}/{name}", "w") as t:
        for n, data in entries:
            i = tarfile.TarInfo(n)
            i.size = len(data)
            t.addfile(i, io.BytesIO(data))
mk("abs.tar", [("/abs/x", b"abs\n"), ("a/../b", b"b\n")])
mk("evil.tar", [("ok", b"ok\n"), ("../escape", b"evil\n")])
PY
	own
	dockerfile <<'DF'
FROM testbase:1
ADD arch.tar /plain/
ADD arch.tar.gz /gz/
ADD arch.tar.xz /xz/
ADD arch.tar.zst /zst/
ADD arch.tar.bz2 /bz2/
ADD notarch.tar /na/
ADD abs.tar /abs/
ADD --chown=app:staff --chmod=0640 arch.tar.gz /owned/
DF
	run ib -q -t addarch:1 "$T/ctx"
	assert_success
	unpack addarch:1
	r=$T/bundle/rootfs
	for d in plain gz xz zst bz2 owned; do
		[ "$(cat "$r/$d/t/file")$(cat "$r/$d/t/sub/d")" = insidedeeper ] || { echo "ADD into /$d" >&2; return 1; }
		[ ! -e "$r/$d/arch.tar" ] && [ ! -e "$r/$d/arch.tar.gz" ]
	done
	cmp "$T/ctx/notarch.tar" "$r/na/notarch.tar"
	[ "$(cat "$r/abs/abs/x")$(cat "$r/abs/b")" = absb ]
	run layer_list -7
	assert_output --regexp "-rw-r--r-- 1234/567 .* gz/t/file"
	assert_output --regexp "drwxr-xr-x 1234/567 .* gz/t/sub/"
	run layer_list -1
	assert_output --regexp "-rw-r----- 1000/50 .* owned/t/file"
	refute_output --partial "1234/567"
	# an entry climbing out of the destination fails the build, naming it
	printf 'FROM testbase:1\nADD evil.tar /e/\n' >"$T/ctx/Dockerfile"
	own
	run ib -q -t addarch:2 "$T/ctx"
	assert_failure
	assert_output --partial "evil.tar"
	assert_output --partial "../escape"
	[ -z "$(find "$T" "$IBUILD_STORE" -name escape)" ]
}

# A plain COPY into dirs a RUN made private to another user: the dirs on
# the way keep their owner and mode (rootless they are looked up inside
# the build user namespace).
case_dest_private() {
	echo "f $RANDOM" >"$T/ctx/f"
	own
	dockerfile <<'DF'
FROM testbase:1
RUN mkdir -p /home/app/sub && chown -R 1000:1000 /home/app && chmod 0700 /home/app /home/app/sub
COPY f /home/app/sub/f
COPY f /home/app/sub
DF
	run ib -q -t destpriv:1 "$T/ctx"
	assert_success
	unpack destpriv:1
	cmp "$T/ctx/f" "$T/bundle/rootfs/home/app/sub/f"
	run layer_list -2
	assert_output --regexp "drwxr-xr-x 0/0 .* home/"
	assert_output --regexp "drwx------ 1000/1000 .* home/app/"
	assert_output --regexp "drwx------ 1000/1000 .* home/app/sub/"
	assert_output --regexp "-rw-r--r-- 0/0 .* home/app/sub/f"
	# an existing dir without a trailing slash is a directory destination
	run layer_list -1
	assert_output --regexp "drwx------ 1000/1000 .* home/app/sub/"
	assert_output --regexp "-rw-r--r-- 0/0 .* home/app/sub/f"
}

# A stage file whose owner alone changes is a different COPY --from source:
# no stale cache hit keeps the old owner.  The change is in a later layer
# under a dir made private, whose older copy below must not be read.
case_from_owner_cache() {
	dockerfile <<'DF'
FROM testbase:1 AS a
ARG O
RUN mkdir /src && echo same >/src/f
RUN chown -R "$O:$O" /src && chmod 0700 /src
FROM testbase:1
COPY --from=a /src/f /f
DF
	run ib -q -t fromown:1 --build-arg O=1000 "$T/ctx"
	assert_success
	unpack fromown:1
	run layer_list -1
	assert_output --regexp "-rw-r--r-- 1000/1000 .* f"
	run ib -q -t fromown:2 --build-arg O=50 "$T/ctx"
	assert_success
	unpack fromown:2
	run layer_list -1
	assert_output --regexp "-rw-r--r-- 50/50 .* f"
}

# Sources that climb with "..": cleaned as if rooted at the context root
# (BuildKit), so "../sub/file" is sub/file and ".." the whole context; one
# that then names nothing fails naming the source as written, and never
# reaches the file outside the context that a plain "../" join would.
case_dotdot_sources() {
	local sentinel="outside the context $RANDOM$RANDOM"
	mkdir -p "$T/ctx/sub"
	echo "in sub $RANDOM" >"$T/ctx/sub/file"
	echo a >"$T/ctx/a.txt"
	echo b >"$T/ctx/b.txt"
	echo hidden >"$T/ctx/secret.txt"
	echo secret.txt >"$T/ctx/.dockerignore"
	echo "$sentinel" >"$T/sentinel"
	own
	dockerfile <<'DF'
FROM testbase:1 AS a
RUN mkdir -p /g && echo 1 >/g/1.txt && echo 2 >/g/2.txt
FROM testbase:1
COPY ../sub/file /y
COPY ../../sub/../a.txt /z
COPY .. /all/
COPY ../*.txt /txt/
COPY --parents ../sub/file /par/
COPY --parents ../sub/./file /piv/
ADD ../sub/file /added
COPY --from=testbase:1 ../../etc/passwd /stagepw
COPY --from=a ../g/*.txt /sg/
DF
	run ib -q -t dotdot:1 "$T/ctx"
	assert_success
	unpack dotdot:1
	r=$T/bundle/rootfs
	# exactly that file, not the context (one test a line: set -e
	# ignores a failure before the last command of an && list)
	[ -f "$r/y" ]
	cmp "$T/ctx/sub/file" "$r/y"
	[ -f "$r/z" ]
	cmp "$T/ctx/a.txt" "$r/z"
	[ -f "$r/added" ]
	cmp "$T/ctx/sub/file" "$r/added"
	# ".." is the context root: its content, after .dockerignore
	[ "$(ls -A "$r/all")" = "$(printf '.dockerignore\nDockerfile\na.txt\nb.txt\nsub')" ]
	cmp "$T/ctx/sub/file" "$r/all/sub/file"
	[ "$(ls -A "$r/txt")" = "$(printf 'a.txt\nb.txt')" ]
	[ "$(ls -A "$r/par")" = sub ]
	[ "$(ls -A "$r/par/sub")" = file ]
	cmp "$T/ctx/sub/file" "$r/par/sub/file"
	[ "$(ls -A "$r/piv")" = file ]
	cmp "$T/ctx/sub/file" "$r/piv/file"
	# another stage's root is "/" the same way
	cmp "$B/ctx/passwd" "$r/stagepw"
	[ "$(ls -A "$r/sg")" = "$(printf '1.txt\n2.txt')" ]
	# a cleaned source that names nothing in the context is an error
	# naming it as written, never a copy of the whole context
	local n=2 src instr
	for src in ../../etc/passwd ../sentinel ../nothing ../secret.txt sub/../../nothing; do
		for instr in COPY ADD; do
			printf 'FROM testbase:1\n%s %s /x\n' "$instr" "$src" >"$T/ctx/Dockerfile"
			own
			run ib -q -t "dotdot:$n" "$T/ctx"
			assert_failure
			assert_output --partial "Dockerfile:2: $instr $src /x: source $src not found in the build context"
			refute_output --partial "$sentinel"
			n=$((n + 1))
		done
	done
	for src in '../*.nomatch' '../secret.*'; do
		printf 'FROM testbase:1\nCOPY %s /x/\n' "$src" >"$T/ctx/Dockerfile"
		own
		run ib -q -t "dotdot:$n" "$T/ctx"
		assert_failure
		assert_output --partial "no source files match $src"
		n=$((n + 1))
	done
	# nothing of the file outside the context reached the store
	[ -d "$IBUILD_STORE/blobs/sha256" ]
	local f
	for f in "$IBUILD_STORE"/blobs/sha256/*; do
		if zcat -f "$f" 2>/dev/null | grep -qF "$sentinel"; then
			echo "the sentinel is in $f" >&2
			return 1
		fi
	done
}
