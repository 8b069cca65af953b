#!/usr/bin/env bats
# RUN --mount=type=ssh with ibuild --ssh, as root.  The cases are in
# build-ssh-cases.bash.

BUILD_MODE=root
load build-helpers
load build-ssh-cases

@test "ssh: RUN --mount=type=ssh talks to the agent; nothing of it stays in the image" {
	case_agent
}

@test "ssh: a missing agent is skipped, or an error naming the id when required" {
	case_missing
}

@test "ssh: bad --ssh values are refused by name" {
	case_bad_values
}

@test "ssh: --ssh ID=KEY[,KEY] serves the keys from a private agent that is gone after the build" {
	case_keys
}

@test "ssh: a key needing a passphrase or not a key is an error naming it, never a prompt" {
	case_key_errors
}

@test "ssh: SIGTERM or SIGKILL to ibuild during a step stops the private agent" {
	case_key_signal
}

@test "ssh: --mount=type=ssh uid/gid/mode are the step's socket's; defaults deny USER 1000; changes to the agent refused" {
	case_mount_opts
}

@test "ssh: ssh-add -l and ssh-keygen -Y sign work through a step's socket; ssh-add -D is refused" {
	case_host_clients
}

@test "ssh: agent sockets, stores and step sockets on paths longer than a socket address" {
	case_long_paths
}
