#!/usr/bin/env bats
# RUN --mount=type=ssh with ibuild --ssh, as an unprivileged user with a subuid range (the agent runs as that user).  The cases are in
# build-ssh-cases.bash.

BUILD_MODE=rootless
load build-helpers
load build-ssh-cases

@test "ssh rootless: RUN --mount=type=ssh talks to the agent; nothing of it stays in the image" {
	case_agent
}

@test "ssh rootless: a missing agent is skipped, or an error naming the id when required" {
	case_missing
}

@test "ssh rootless: bad --ssh values are refused by name" {
	case_bad_values
}

@test "ssh rootless: --ssh ID=KEY[,KEY] serves the keys from a private agent that is gone after the build" {
	case_keys
}

@test "ssh rootless: a key needing a passphrase or not a key is an error naming it, never a prompt" {
	case_key_errors
}

@test "ssh rootless: SIGTERM or SIGKILL to ibuild during a step stops the private agent" {
	case_key_signal
}

@test "ssh rootless: --mount=type=ssh uid/gid/mode are the step's socket's; defaults deny USER 1000; changes to the agent refused" {
	case_mount_opts
}

@test "ssh rootless: ssh-add -l and ssh-keygen -Y sign work through a step's socket; ssh-add -D is refused" {
	case_host_clients
}

@test "ssh rootless: agent sockets, stores and step sockets on paths longer than a socket address" {
	case_long_paths
}
