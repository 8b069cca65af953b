#!/usr/bin/env bats
# The RUN sandbox and overlay snapshots, run as root (identity id mapping).
# The checks live in sandbox-helpers.bash and are shared with sandbox-rootless.bats.

SANDBOX_MODE=root
load sandbox-helpers

@test "root: a step's layer unpacked by umoci over the base is the tree the step saw" { t_roundtrip none; }
@test "root: the same round trip with a gzip layer" { t_roundtrip gzip; }
@test "root: the copy snapshotter (forced, and as the fallback) gives the same layer" { t_copy_snapshotter; }
@test "root: a committed upper dir is the next step's lower (whiteouts, opaque dir, xattrs)" { t_second_step; }
@test "root: unpacking a base layer with device nodes" { t_unpack_devices; }
@test "root: the step sees neither host paths nor host processes" { t_isolation; }
@test "root: capabilities are bounded and cannot be regained" { t_caps; }
@test "root: a failing step leaves no mounts, processes or temp dirs" { t_failure_cleanup; }
@test "root: a timed-out step is killed with everything it started" { t_timeout_cleanup; }
@test "root: a signal to the caller kills the step and cleans up" { t_signal_cleanup; }
@test "root: bind, cache, tmpfs and secret mounts work and stay out of the layer" { t_mounts; }
@test "root: USER, working directory and environment" { t_users_and_env; }
@test "root: network none has only a working loopback" { t_net_none; }
@test "root: a base without /etc, /proc, /dev gets no mount points in its diff" { t_scratch_base; }
@test "root: single id mapping works for root and refuses other users clearly" { t_single_mapping; }
