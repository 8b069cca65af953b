#!/usr/bin/env bats
# cgroup v2 limits (--memory, --cpus, --pids-limit) of the RUN sandbox, run
# as root.  The checks live in sandbox-helpers.bash.  Enforcement is checked
# where the pids and cpu controllers are available in cgroup v2 (setup
# frees their v1 hierarchies on a hybrid host when nothing holds them);
# elsewhere the tests check the warnings, or fail with
# IBUILD_TEST_REQUIRE_CGROUP=1.

SANDBOX_MODE=root
load sandbox-helpers

setup() {
	cg_prepare
	sandbox_setup
	cg_make_parent
}

teardown() {
	sandbox_teardown
	cg_remove_parent
}

@test "root: a step's limits are in its own leaf cgroup, enforced, and the leaf is removed" { t_cgroup_limits; }
@test "root: the leaf cgroup is removed after a failing, killed, timed-out or cancelled step" { t_cgroup_cleanup; }
@test "root: limits from the caller's own cgroup, or a warning when it is not delegated" { t_cgroup_own; }
@test "root: ibuild --pids-limit/--cpus put RUN steps in a leaf cgroup with the limits" { t_cgroup_ibuild; }
