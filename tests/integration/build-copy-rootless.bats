#!/usr/bin/env bats
# COPY/ADD as an unprivileged user with a subordinate id range: the stage
# files a RUN gave other owners and 0600/0700 modes are read inside the
# build user namespace.  The cases are in build-copy-cases.bash.

BUILD_MODE=rootless
load build-helpers
load build-copy-cases

@test "copy rootless: COPY --from of files the caller cannot read keeps owners and modes" {
	case_from_unreadable
}

@test "copy rootless: globs in every component of a COPY --from source, --parents" {
	case_from_globs
}

@test "copy rootless: COPY --link layers do not depend on the layers below" {
	case_link
}

@test "copy rootless: ADD of local archives of every compression, owners from the archive" {
	case_add_archives
}

@test "copy rootless: a plain COPY keeps the private dirs on the way (looked up in the namespace)" {
	case_dest_private
}

@test "copy rootless: a stage file whose owner alone changed is copied again" {
	case_from_owner_cache
}

@test "copy rootless: sources starting with .. are cleaned inside the context; one naming nothing fails" {
	case_dotdot_sources
}
