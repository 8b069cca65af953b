#!/usr/bin/env bats
# ibuild prune against running builds (the store hold, oci/store.h), as
# root.  The cases are in build-prune-cases.bash.

BUILD_MODE=root
load build-helpers
load build-prune-cases

teardown() {
	prune_teardown
	[ -n "${T:-}" ] && rm -rf "$T"
}

@test "prune root: waits for a running build (one line says so); the built image is complete after both" {
	case_prune_waits
}

@test "prune root: --no-wait fails at once naming the store, removing nothing" {
	case_no_wait
}

@test "prune root: a build and a push wait for a prune holding the store" {
	case_users_wait_for_prune
}
