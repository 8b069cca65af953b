# RUN --mount=type=ssh / ibuild --ssh cases shared by build-ssh.bats (root)
# and build-ssh-rootless.bats (an unprivileged user with a subuid range).
# Load after build-helpers.  Busybox's nc has no unix sockets, so the step
# talks to the agent with a small static client compiled here.

# An ssh-agent (as the mode's user) at $T/agent.sock holding one new key,
# and $T/ctx/agentq: sends REQUEST_IDENTITIES (\0\0\0\1\x0b) to
# $SSH_AUTH_SOCK and prints "type=T keys=N" from the reply.
start_agent() {
	cat >"$T/agentq.c" <<'C'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
int main(void)
{
	const char *p = getenv("SSH_AUTH_SOCK");
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	unsigned char b[8192];
	size_t n = 0;
	ssize_t r;
	int fd;

	if (!p || strlen(p) >= sizeof(a.sun_path)) {
		fprintf(stderr, "agentq: SSH_AUTH_SOCK unset\n");
		return 2;
	}
	strcpy(a.sun_path, p);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *) &a, sizeof(a)) < 0) {
		perror("agentq: connect");
		return 3;
	}
	if (write(fd, "\0\0\0\1\x0b", 5) != 5)
		return 4;
	while (n < 9 && (r = read(fd, b + n, sizeof(b) - n)) > 0)
		n += (size_t) r;
	if (n < 9) {
		fprintf(stderr, "agentq: short reply\n");
		return 5;
	}
	printf("type=%u keys=%u\n", b[4], (unsigned) b[5] << 24 | (unsigned) b[6] << 16 | (unsigned) b[7] << 8 | b[8]);
	return 0;
}
C
	gcc -static -O1 -o "$T/ctx/agentq" "$T/agentq.c"
	own
	as_mode ssh-keygen -q -t ed25519 -N '' -f "$T/key" >/dev/null
	as_mode ssh-agent -s -a "$T/agent.sock" >"$T/agent.env"
	AGENT_PID=$(sed -n 's/^SSH_AGENT_PID=\([0-9]*\);.*/\1/p' "$T/agent.env")
	[ -n "$AGENT_PID" ]
	as_mode env SSH_AUTH_SOCK="$T/agent.sock" ssh-add -q "$T/key" 2>/dev/null
	[ -S "$T/agent.sock" ]
}

stop_agent() {
	[ -n "${AGENT_PID:-}" ] && kill "$AGENT_PID" 2>/dev/null
	AGENT_PID=
	true
}

teardown() {
	stop_agent
	[ -n "${T:-}" ] && rm -rf "$T"
}

# ibuild with SSH_AUTH_SOCK pointing at the agent.
ib_ssh() { as_mode env SSH_AUTH_SOCK="$T/agent.sock" "$IBUILD_BUILD/bin/ibuild" "$@"; }

# The agent answers from inside RUN through --ssh default and --ssh ID=SOCK;
# nothing of it is left in the image.
case_agent() {
	start_agent
	dockerfile <<'DF'
FROM testbase:1
COPY agentq /agentq
RUN --mount=type=ssh test -S "$SSH_AUTH_SOCK" && echo "$SSH_AUTH_SOCK" >/sock0 && /agentq >/answer0
RUN --mount=type=ssh,id=other,target=/tmp/a.sock,required /agentq >/answer1 && echo "$SSH_AUTH_SOCK" >/sock1
RUN --mount=type=ssh,id=nope --mount=type=ssh,id=other,required,mode=0600,uid=0,gid=0 /agentq >/answer2 && echo "$SSH_AUTH_SOCK" >/sock2
RUN echo "[${SSH_AUTH_SOCK:-}]" >/after
DF
	run ib_ssh -q -t ssh:1 --ssh default --ssh "other=$T/agent.sock" "$T/ctx"
	assert_success
	export_layout ssh:1
	umoci unpack --rootless --image "$T/lay:t" "$T/bundle" >/dev/null
	R=$T/bundle/rootfs
	assert_equal "$(cat "$R/answer0")" "type=12 keys=1"
	assert_equal "$(cat "$R/answer1")" "type=12 keys=1"
	assert_equal "$(cat "$R/answer2")" "type=12 keys=1"
	assert_equal "$(cat "$R/sock0")" /run/buildkit/ssh_agent.0
	assert_equal "$(cat "$R/sock1")" /tmp/a.sock
	# the skipped agent still counts for the default target's index
	assert_equal "$(cat "$R/sock2")" /run/buildkit/ssh_agent.1
	assert_equal "$(cat "$R/after")" "[]"
	[ ! -e "$R/run/buildkit" ]
	[ ! -e "$R/run" ]
	[ ! -e "$R/tmp/a.sock" ]
	# the variable is the step's only: not in the config's Env (the history
	# has the RUN text, which names it, as BuildKit's does)
	run config_of ssh:1
	assert_success
	run jq -r '.config.Env[]' <<<"$output"
	assert_success
	assert_output --partial PATH=
	refute_output --partial SSH_AUTH_SOCK
}

# A missing agent: skipped unless required (then an error naming the id).
case_missing() {
	dockerfile <<'DF'
FROM testbase:1
RUN --mount=type=ssh echo "[${SSH_AUTH_SOCK:-}]" >/o
DF
	run ib -q -t sshmiss:1 "$T/ctx"
	assert_success
	export_layout sshmiss:1
	umoci unpack --rootless --image "$T/lay:t" "$T/bundle" >/dev/null
	assert_equal "$(cat "$T/bundle/rootfs/o")" "[]"
	dockerfile <<'DF'
FROM testbase:1
RUN --mount=type=ssh,id=deploykey,required true
DF
	run ib -q -t sshmiss:2 "$T/ctx"
	assert_failure
	assert_output --partial "ssh agent 'deploykey' was not given"
}

# Bad --ssh values and unsupported mount options are refused by name.
case_bad_values() {
	echo k >"$T/keyfile"
	own
	run ib -q --ssh "k=$T/keyfile" "$T/ctx"
	assert_failure
	assert_output --partial "$T/keyfile is not a socket"
	run ib -q --ssh "k=$T/nothere" "$T/ctx"
	assert_failure
	assert_output --partial "$T/nothere"
	run as_mode env -u SSH_AUTH_SOCK "$IBUILD_BUILD/bin/ibuild" -q --ssh default "$T/ctx"
	assert_failure
	assert_output --partial "SSH_AUTH_SOCK is not set"
	start_agent
	run ib_ssh -q --ssh default --ssh default "$T/ctx"
	assert_failure
	assert_output --partial "id 'default' given twice"
	dockerfile <<'DF'
FROM testbase:1
RUN --mount=type=ssh,uid=1000 true
DF
	run ib_ssh -q --ssh default "$T/ctx"
	assert_failure
	assert_output --partial "type=ssh,id=default: only uid=0"
}
