# RUN --mount=type=ssh / ibuild --ssh cases shared by build-ssh.bats (root)
# and build-ssh-rootless.bats (an unprivileged user with a subuid range).
# Load after build-helpers.  Busybox's nc has no unix sockets, so the step
# talks to the agent with a small static client compiled here.

# An ssh-agent (as the mode's user) at $T/agent.sock holding one new key,
# and $T/ctx/agentq [TYPE]: sends a request of TYPE (default 11,
# REQUEST_IDENTITIES: \0\0\0\1\x0b) to $SSH_AUTH_SOCK and prints
# "type=T keys=N" from the reply ("type=T" for a bare status reply).
start_agent() {
	make_agentq
	as_mode ssh-keygen -q -t ed25519 -N '' -f "$T/key" >/dev/null
	as_mode ssh-agent -s -a "$T/agent.sock" >"$T/agent.env"
	AGENT_PID=$(sed -n 's/^SSH_AGENT_PID=\([0-9]*\);.*/\1/p' "$T/agent.env")
	[ -n "$AGENT_PID" ]
	as_mode env SSH_AUTH_SOCK="$T/agent.sock" ssh-add -q "$T/key" 2>/dev/null
	[ -S "$T/agent.sock" ]
}

make_agentq() {
	cat >"$T/agentq.c" <<'C'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
int main(int argc, char **argv)
{
	const char *p = getenv("SSH_AUTH_SOCK");
	unsigned char req[5] = {0, 0, 0, 1, 11};
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	unsigned char b[8192];
	size_t n = 0;
	ssize_t r;
	int fd;

	if (argc > 1)
		req[4] = (unsigned char) atoi(argv[1]);
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
	if (write(fd, req, 5) != 5)
		return 4;
	size_t need = 4;
	while (n < need && (r = read(fd, b + n, sizeof(b) - n)) > 0) {
		n += (size_t) r;
		if (need == 4 && n >= 4) {
			need = 4 + ((size_t) b[0] << 24 | (size_t) b[1] << 16 | (size_t) b[2] << 8 | b[3]);
			if (need > 9)
				need = 9;
		}
	}
	if (need == 5 && n >= 5) {
		printf("type=%u\n", b[4]);
		return 0;
	}
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
}

stop_agent() {
	[ -n "${AGENT_PID:-}" ] && kill "$AGENT_PID" 2>/dev/null
	AGENT_PID=
	true
}

teardown() {
	stop_agent
	[ -n "${IB_PID:-}" ] && kill -KILL "$IB_PID" 2>/dev/null
	IB_PID=
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

# Bad --ssh values are refused by name.
case_bad_values() {
	mkdir "$T/adir"
	own
	run ib -q --ssh "k=$T/nothere" "$T/ctx"
	assert_failure
	assert_output --partial "$T/nothere"
	run ib -q --ssh "k=$T/adir" "$T/ctx"
	assert_failure
	assert_output --partial "$T/adir is neither an agent socket nor a key file"
	run as_mode env -u SSH_AUTH_SOCK "$IBUILD_BUILD/bin/ibuild" -q --ssh default "$T/ctx"
	assert_failure
	assert_output --partial "SSH_AUTH_SOCK is not set"
	start_agent
	run ib_ssh -q --ssh default --ssh default "$T/ctx"
	assert_failure
	assert_output --partial "id 'default' given twice"
	run ib -q --ssh "k=$T/key,,$T/key" "$T/ctx"
	assert_failure
	assert_output --partial "an empty path in the list"
	# BuildKit's rule: a socket is the only path, never mixed with keys
	run ib -q --ssh "k=$T/key,$T/agent.sock" "$T/ctx"
	assert_failure
	assert_output --partial "$T/agent.sock is an agent socket, which must be the only path"
	run ib -q --ssh "k=$T/agent.sock,$T/key" "$T/ctx"
	assert_failure
	assert_output --partial "$T/key is a key file after an agent socket"
}

# --ssh ID=KEY[,KEY]: the keys are served by a private ssh-agent for the
# build, which is gone afterwards; --ssh ID= (empty) is $SSH_AUTH_SOCK.
case_keys() {
	start_agent
	as_mode ssh-keygen -q -t ecdsa -N '' -f "$T/key2" >/dev/null
	dockerfile <<'DF'
FROM testbase:1
COPY agentq /agentq
RUN --mount=type=ssh /agentq >/one
RUN --mount=type=ssh,id=two,required /agentq >/two
RUN --mount=type=ssh,id=sock,required /agentq >/sock
DF
	# a user's agent in SSH_AUTH_SOCK must not matter for key files: it
	# holds one key, while "two" has two
	run ib_ssh -q -t sshkeys:1 --ssh "default=$T/key" --ssh "two=$T/key,$T/key2" --ssh sock= "$T/ctx"
	assert_success
	unpack sshkeys:1
	assert_equal "$(cat "$T/bundle/rootfs/one")" "type=12 keys=1"
	assert_equal "$(cat "$T/bundle/rootfs/two")" "type=12 keys=2"
	assert_equal "$(cat "$T/bundle/rootfs/sock")" "type=12 keys=1"
	assert_no_private_agent
}

# No private agent, socket or dir is left behind.
assert_no_private_agent() {
	local i
	for i in $(seq 50); do
		pgrep -f "ssh-agent -D -a $IBUILD_STORE/" >/dev/null || break
		sleep 0.1
	done
	run pgrep -f "ssh-agent -D -a $IBUILD_STORE/"
	assert_failure 1 # "no match" (a missing pgrep would be 127)
	run find "$IBUILD_STORE/tmp" -name 'ssh*'
	assert_output ""
}

# A key that needs a passphrase or is not a key: an error naming the file,
# without prompting (stdin is a terminal-less pipe here, and the run is
# bounded), and the agent is gone.
case_key_errors() {
	make_agentq
	as_mode ssh-keygen -q -t ed25519 -N 'secret' -f "$T/pkey" >/dev/null
	echo 'not a key' >"$T/bad"
	chmod 600 "$T/bad"
	own
	dockerfile <<'DF'
FROM testbase:1
RUN --mount=type=ssh true
DF
	run as_mode timeout 60 "$IBUILD_BUILD/bin/ibuild" -q --ssh "default=$T/pkey" "$T/ctx" </dev/null
	assert_failure
	assert_output --partial "key $T/pkey needs a passphrase, and ibuild never prompts for one"
	assert_no_private_agent
	run as_mode timeout 60 "$IBUILD_BUILD/bin/ibuild" -q --ssh "default=$T/bad" "$T/ctx"
	assert_failure
	assert_output --partial "cannot load key $T/bad"
	assert_no_private_agent
	# ssh-agent missing from PATH: said, naming the package
	run as_mode env PATH=/nonexistent "$IBUILD_BUILD/bin/ibuild" -q --ssh "default=$T/bad" "$T/ctx"
	assert_failure
	assert_output --partial "openssh-client"
}

# SIGTERM (and SIGKILL) to ibuild while a step runs: the private agent goes.
case_key_signal() {
	local sig i
	make_agentq
	as_mode ssh-keygen -q -t ed25519 -N '' -f "$T/key" >/dev/null
	dockerfile <<'DF'
FROM testbase:1
COPY agentq /agentq
RUN --mount=type=ssh /agentq && sleep 60
DF
	for sig in TERM KILL; do
		rm -f "$T/pid"
		own
		as_mode sh -c 'echo $$ >"$1/pid"; exec "$2" -q --no-cache --ssh "default=$1/key" "$1/ctx"' sh "$T" \
			"$IBUILD_BUILD/bin/ibuild" >"$T/out" 2>&1 &
		for i in $(seq 300); do
			[ -s "$T/pid" ] && pgrep -f "ssh-agent -D -a $IBUILD_STORE/" >/dev/null &&
				ls "$IBUILD_STORE"/tmp/build-*/ssh-*/agent.0 >/dev/null 2>&1 && break
			sleep 0.1
		done
		IB_PID=$(cat "$T/pid")
		run pgrep -f "ssh-agent -D -a $IBUILD_STORE/"
		assert_success
		kill -"$sig" "$IB_PID"
		for i in $(seq 100); do
			kill -0 "$IB_PID" 2>/dev/null || break
			sleep 0.1
		done
		run kill -0 "$IB_PID"
		assert_failure
		IB_PID=
		wait || true
		if [ "$sig" = TERM ]; then
			assert_no_private_agent
		else
			# the build's dir stays after SIGKILL; the agent does not
			for i in $(seq 50); do
				pgrep -f "ssh-agent -D -a $IBUILD_STORE/" >/dev/null || break
				sleep 0.1
			done
			run pgrep -f "ssh-agent -D -a $IBUILD_STORE/"
			assert_failure 1 # "no match" (a missing pgrep would be 127)
			rm -rf "$IBUILD_STORE"/tmp/build-*
		fi
	done
}

# RUN --mount=type=ssh,uid=,gid=,mode=: the step's socket has them as seen
# inside (rootless: through the subordinate id mapping); a USER 1000 step
# reaches the agent with uid=1000, and gets EACCES with the defaults
# (0, 0, 0600).  Requests that change the agent are refused.
case_mount_opts() {
	start_agent
	dockerfile <<'DF'
FROM testbase:1
COPY agentq /agentq
USER 1000
RUN --mount=type=ssh,uid=1000 /agentq >/tmp/ans && stat -c '%u %g %a %F' "$SSH_AUTH_SOCK" >/tmp/st
RUN --mount=type=ssh,uid=1000,gid=50,mode=0660,target=/run/s.sock stat -c '%u %g %a' /run/s.sock >/tmp/st2 && \
	SSH_AUTH_SOCK=/run/s.sock /agentq >/tmp/ans2
RUN --mount=type=ssh stat -c '%u %g %a' "$SSH_AUTH_SOCK" >/tmp/st3; /agentq >/tmp/denied 2>&1; echo "rc=$?" >>/tmp/denied
USER root
RUN --mount=type=ssh /agentq 19 >/tmp/rmall && /agentq 22 >/tmp/lock && /agentq >/tmp/after
DF
	run ib_ssh -q -t sshopts:1 --ssh default "$T/ctx"
	assert_success
	unpack sshopts:1
	R=$T/bundle/rootfs
	assert_equal "$(cat "$R/tmp/ans")" "type=12 keys=1"
	assert_equal "$(cat "$R/tmp/st")" "1000 0 600 socket"
	assert_equal "$(cat "$R/tmp/st2")" "1000 50 660"
	assert_equal "$(cat "$R/tmp/ans2")" "type=12 keys=1"
	assert_equal "$(cat "$R/tmp/st3")" "0 0 600"
	run cat "$R/tmp/denied"
	assert_output --partial "Permission denied"
	assert_output --partial "rc=3"
	# REMOVE_ALL_IDENTITIES (19) and LOCK (22) get SSH_AGENT_FAILURE (5):
	# the user's agent keeps its key
	assert_equal "$(cat "$R/tmp/rmall")" "type=5"
	assert_equal "$(cat "$R/tmp/lock")" "type=5"
	assert_equal "$(cat "$R/tmp/after")" "type=12 keys=1"
	run as_mode env SSH_AUTH_SOCK="$T/agent.sock" ssh-add -l
	assert_success
	assert_output --partial ED25519
	# without subordinate ids only 0 maps: uid=1000 is refused by name
	dockerfile <<'DF'
FROM testbase:1
RUN --mount=type=ssh,uid=1000 true
DF
	run as_mode env IBUILD_IDMAP=single SSH_AUTH_SOCK="$T/agent.sock" "$IBUILD_BUILD/bin/ibuild" -q --ssh default "$T/ctx"
	assert_failure
	assert_output --partial "Dockerfile:2: --mount type=ssh,id=default,uid=1000: uid 1000 is not mapped"
}

# Real OpenSSH clients through a step's forwarding socket (reached from the
# host while the step waits): ssh-add -l lists the key, ssh-keygen -Y sign
# gets a signature that verifies (SIGN_REQUEST relayed), ssh-add -D is
# refused and the agent keeps its key.
case_host_clients() {
	local sock i
	start_agent
	echo "signed text" >"$T/msg"
	own
	dockerfile <<'DF'
FROM testbase:1
RUN --mount=type=bind,target=/ctx --mount=type=ssh,id=k,required \
	i=0; while [ ! -e /ctx/done ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done; [ -e /ctx/done ]
DF
	as_mode env SSH_AUTH_SOCK="$T/agent.sock" "$IBUILD_BUILD/bin/ibuild" -q --no-cache --ssh "k=$T/agent.sock" \
		"$T/ctx" >"$T/out" 2>&1 &
	IB_PID=$!
	for i in $(seq 300); do
		sock=$(ls "$IBUILD_STORE"/tmp/build-*/ssh-*/agent.0 2>/dev/null | head -1)
		[ -n "$sock" ] && break
		sleep 0.1
	done
	[ -S "$sock" ]
	run as_mode env SSH_AUTH_SOCK="$sock" ssh-add -l
	assert_success
	assert_output --partial ED25519
	run as_mode env SSH_AUTH_SOCK="$sock" ssh-keygen -q -Y sign -f "$T/key.pub" -n test "$T/msg"
	assert_success
	run ssh-keygen -Y check-novalidate -n test -f "$T/key.pub" -s "$T/msg.sig" <"$T/msg"
	assert_success
	run as_mode env SSH_AUTH_SOCK="$sock" ssh-add -D
	assert_failure
	run as_mode env SSH_AUTH_SOCK="$T/agent.sock" ssh-add -l
	assert_success
	assert_output --partial ED25519
	touch "$T/ctx/done"
	wait "$IB_PID"
	IB_PID=
	run cat "$T/out"
	refute_output --partial error
}

# Paths longer than a unix socket address (108 bytes): an agent socket
# given through a long path, a store so deep that the step sockets are
# bound through /proc/self/fd and the private agent lives in $TMPDIR.
case_long_paths() {
	local deep
	start_agent
	deep=$T/$(printf 'd%.0s' $(seq 60))/$(printf 'e%.0s' $(seq 60))
	mkdir -p "$deep" "$T/tmp"
	ln -s "$T/agent.sock" "$deep/agent.sock"
	as_mode ssh-keygen -q -t ed25519 -N '' -f "$T/key2" >/dev/null
	dockerfile <<'DF'
FROM scratch
COPY agentq /agentq
RUN --mount=type=ssh,id=long,required ["/agentq"]
RUN --mount=type=ssh,id=keys,required ["/agentq"]
DF
	own
	run as_mode env TMPDIR="$T/tmp" "$IBUILD_BUILD/bin/ibuild" -q --no-cache --store "$deep/store" \
		--ssh "long=$deep/agent.sock" --ssh "keys=$T/key2" "$T/ctx"
	assert_success
	run find "$T/tmp" "$deep/store/tmp" -name 'ssh*'
	assert_output ""
	# a step whose agent cannot be reached (a socket nobody listens on)
	# sees the connection closed (agentq: a short reply, or SIGPIPE when
	# the close comes before its request) and fails
	dockerfile <<'DF'
FROM scratch
COPY agentq /agentq
RUN --mount=type=ssh,id=long,required ["/agentq"]
DF
	as_mode python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$T/dead.sock"
	ln -sf "$T/dead.sock" "$deep/agent.sock"
	run as_mode env TMPDIR="$T/tmp" "$IBUILD_BUILD/bin/ibuild" -q --no-cache --store "$deep/store" \
		--ssh "long=$deep/agent.sock" "$T/ctx"
	assert_failure
	assert_output --partial 'Dockerfile:3: RUN --mount=type=ssh,id=long,required ["/agentq"]'
}
