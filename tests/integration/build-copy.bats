#!/usr/bin/env bats
# COPY/ADD as root: --from of files with other owners and private modes,
# globs in --from sources, --link, ADD of local archives, Docker's
# destination rules.  The shared cases are in build-copy-cases.bash.

BUILD_MODE=root
load build-helpers
load build-copy-cases

@test "copy: COPY --from keeps owners and private modes of the stage's files" {
	case_from_unreadable
}

@test "copy: globs in every component of a COPY --from source, --parents" {
	case_from_globs
}

@test "copy: COPY --link layers do not depend on the layers below" {
	case_link
}

@test "copy: ADD extracts local tar, tar.gz, tar.xz, tar.zst, tar.bz2; keeps a .tar that is none; contains entries" {
	case_add_archives
}

@test "copy: Docker's destination rules" {
	mkdir -p "$T/ctx/dir/sub"
	echo f >"$T/ctx/f"
	echo a >"$T/ctx/dir/a"
	echo b >"$T/ctx/dir/sub/b"
	echo x1 >"$T/ctx/x1.txt"
	echo x2 >"$T/ctx/x2.txt"
	echo one >"$T/ctx/one.md"
	dockerfile <<'DF'
FROM testbase:1
COPY f /todir/
COPY f /newname
COPY f /data
COPY dir /dcontent
COPY dir/ /tmp/
COPY one.* /globfile
COPY --chmod=755 f /exec
COPY --chown=app:staff f /byname
COPY --exclude=sub dir /exdir/
COPY --from=testbase:1 --chown=app /etc/passwd /pw
DF
	run ib -q -t rules:1 "$T/ctx"
	assert_success
	unpack rules:1
	r=$T/bundle/rootfs
	# file -> dir/, file -> new name, file -> existing dir without a slash
	[ -f "$r/todir/f" ] && [ -f "$r/newname" ] && [ -f "$r/data/f" ] && [ -d "$r/data/keep" ]
	# a directory's content is copied, not the directory
	[ -f "$r/dcontent/a" ] && [ -f "$r/dcontent/sub/b" ] && [ ! -e "$r/dcontent/dir" ]
	# ... and an existing destination dir keeps its mode (/tmp is 1777)
	[ -f "$r/tmp/a" ]
	run layer_list -6
	assert_output --regexp "drwxrwxrwt 0/0 .* tmp/"
	# one wildcard match and a plain destination: a file of that name
	[ "$(cat "$r/globfile")" = one ]
	run layer_list -4
	assert_output --regexp "-rwxr-xr-x 0/0 .* exec"
	run layer_list -3
	assert_output --regexp "-rw-r--r-- 1000/50 .* byname"
	[ -f "$r/exdir/a" ] && [ ! -e "$r/exdir/sub" ]
	run layer_list -1
	assert_output --regexp "-rw-r--r-- 1000/1000 .* pw"
	# several sources need a directory destination; a pattern must match
	for df in 'COPY f x1.txt /notdir' 'COPY *.txt /notdir' 'COPY nomatch* /x/'; do
		printf 'FROM testbase:1\n%s\n' "$df" >"$T/ctx/Dockerfile"
		run ib -q -t rules:2 "$T/ctx"
		assert_failure
		assert_output --partial "Dockerfile:2"
	done
	printf 'FROM testbase:1\nCOPY f x1.txt /notdir\n' >"$T/ctx/Dockerfile"
	run ib -q -t rules:2 "$T/ctx"
	assert_output --partial "must be a directory"
	printf 'FROM testbase:1\nCOPY nomatch* /x/\n' >"$T/ctx/Dockerfile"
	run ib -q -t rules:2 "$T/ctx"
	assert_output --partial "no source files match nomatch*"
}

@test "copy: --parents with a /./ pivot and ** wildcards from the context" {
	mkdir -p "$T/ctx/src/x/y"
	echo a >"$T/ctx/src/a.txt"
	echo b >"$T/ctx/src/x/b.txt"
	echo c >"$T/ctx/src/x/y/c.txt"
	echo d >"$T/ctx/src/x/y/d.log"
	dockerfile <<'DF'
FROM testbase:1
COPY --parents ./src/**/*.txt /p1/
COPY --parents ./src/./x/y/*.txt src/./x/b.txt /p2/
COPY src/**/c.txt /p3/
DF
	run ib -q -t parents:1 "$T/ctx"
	assert_success
	unpack parents:1
	r=$T/bundle/rootfs
	[ "$(cat "$r/p1/src/a.txt")$(cat "$r/p1/src/x/b.txt")$(cat "$r/p1/src/x/y/c.txt")" = abc ]
	[ ! -e "$r/p1/src/x/y/d.log" ]
	[ "$(cat "$r/p2/x/y/c.txt")$(cat "$r/p2/x/b.txt")" = cb ] && [ ! -e "$r/p2/src" ]
	[ "$(cat "$r/p3/c.txt")" = c ]
}

@test "copy: sources starting with .. are cleaned inside the context; one naming nothing fails" {
	case_dotdot_sources
}

@test "copy: a plain COPY keeps the private dirs on the way to its destination" {
	case_dest_private
}

@test "copy: a stage file whose owner alone changed is copied again" {
	case_from_owner_cache
}
