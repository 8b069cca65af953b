#!/usr/bin/env bats
# The RUN sandbox and overlay snapshots, run as an unprivileged user with a subordinate id range (newuidmap).
# The checks live in sandbox-helpers.bash and are shared with sandbox-root.bats.

SANDBOX_MODE=rootless
load sandbox-helpers

@test "rootless: a step's layer unpacked by umoci over the base is the tree the step saw" { t_roundtrip none; }
@test "rootless: the same round trip with a gzip layer" { t_roundtrip gzip; }
@test "rootless: the copy snapshotter (forced, and as the fallback) gives the same layer" { t_copy_snapshotter; }
@test "rootless: a committed upper dir is the next step's lower (whiteouts, opaque dir, xattrs)" { t_second_step; }
@test "rootless: unpacking a base layer with device nodes" { t_unpack_devices; }
@test "rootless: the step sees neither host paths nor host processes" { t_isolation; }
@test "rootless: capabilities are bounded and cannot be regained" { t_caps; }
@test "rootless: a failing step leaves no mounts, processes or temp dirs" { t_failure_cleanup; }
@test "rootless: a timed-out step is killed with everything it started" { t_timeout_cleanup; }
@test "rootless: a signal to the caller kills the step and cleans up" { t_signal_cleanup; }
@test "rootless: bind, cache, tmpfs and secret mounts work and stay out of the layer" { t_mounts; }
@test "rootless: USER, working directory and environment" { t_users_and_env; }
@test "rootless: network none has only a working loopback" { t_net_none; }
@test "rootless: a base without /etc, /proc, /dev gets no mount points in its diff" { t_scratch_base; }
@test "rootless: single id mapping works for root and refuses other users clearly" { t_single_mapping; }
