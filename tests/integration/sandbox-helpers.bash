# Shared by sandbox-root.bats and sandbox-rootless.bats: the same checks run
# as root and as an unprivileged user with a subordinate id range.
#   SANDBOX_MODE=root|rootless (set by the .bats file before loading this)

load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'

TESTUSER=ibuildtest
SBX="$IBUILD_TOOLS/sandbox-run"
# runuser does not pass the environment through: forward the snapshotter.
export IBUILD_SNAPSHOTTER

# Create the test user and its subordinate ranges if missing (idempotent;
# other suites may share the user).
ensure_user() {
	id "$TESTUSER" >/dev/null 2>&1 || useradd -m "$TESTUSER" 2>/dev/null || id "$TESTUSER" >/dev/null
	grep -q "^$TESTUSER:" /etc/subuid || echo "$TESTUSER:200000:65536" >>/etc/subuid
	grep -q "^$TESTUSER:" /etc/subgid || echo "$TESTUSER:200000:65536" >>/etc/subgid
}

# Run a command as the mode's user (the tool itself, or anything else).
as_mode() {
	if [ "$SANDBOX_MODE" = rootless ]; then
		runuser -u "$TESTUSER" -- "$@"
	else
		"$@"
	fi
}

sbx() { as_mode env IBUILD_SNAPSHOTTER="${IBUILD_SNAPSHOTTER:-}" "$SBX" "$@"; }

# A base rootfs from busybox-static: /bin/busybox, applet symlinks, users,
# and a few trees a step can delete or replace.
make_base() {
	local b=$1
	mkdir -p "$b/bin" "$b/etc" "$b/data/old/sub" "$b/data/keep" "$b/replace" "$b/tmp" "$b/root"
	cp /bin/busybox "$b/bin/busybox"
	# busybox --install -s, into our dir (one process: forks are slow here)
	/bin/busybox --list | grep -vx busybox | (cd "$b/bin" && perl -ne 'chomp; symlink("busybox", $_) or die "$_: $!"')
	printf 'root:x:0:0:root:/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\nbob:x:1001:1001::/home/bob:/bin/sh\n' >"$b/etc/passwd"
	printf 'root:x:0:\nalice:x:1000:\nbob:x:1001:\nstaff:x:50:alice\n' >"$b/etc/group"
	echo old-a >"$b/data/old/a"
	echo old-b >"$b/data/old/sub/b"
	echo keep >"$b/data/keep/k"
	echo gone >"$b/data/keep/gone"
	echo x >"$b/replace/x"
	chmod 1777 "$b/tmp"
}

# Built once per file: the base tarball and the static helpers.
setup_file() {
	[ "$SANDBOX_MODE" = rootless ] && ensure_user
	B=$(mktemp -d /tmp/ibuild-sandbox-base.XXXXXX)
	chmod 755 "$B"
	make_base "$B/base"
	(cd "$B/base" && tar --numeric-owner -cf "$B/base.tar" .)
	make_xattr_tool
	make_list_script
	export B
}

teardown_file() {
	[ -n "${B:-}" ] && rm -rf "$B"
}

setup() { sandbox_setup; }
teardown() { sandbox_teardown; }

sandbox_setup() {
	MARK="ibuild-sbx-$$-$RANDOM"
	T=$(mktemp -d /tmp/ibuild-sandbox-test.XXXXXX)
	chmod 755 "$T"
	cp "$B/base.tar" "$T/base.tar"
	mkdir -p "$T/run" "$T/snaps"
	if [ "$SANDBOX_MODE" = rootless ]; then
		chown -R "$TESTUSER:" "$T"
	fi
	# The base as a snapshot dir (unpacked inside the user namespace).
	BASE=$(sbx unpack --snapshots "$T/snaps" --layer "$T/base.tar")
	as_mode mkdir "$T/upper" "$T/work"
}

sandbox_teardown() {
	# Nothing of a step may outlive it.  (Never with an empty MARK, which
	# setup may not have reached: that pattern matches every process.)
	[ -n "${MARK:-}" ] && { pkill -KILL -f "$MARK" 2>/dev/null || true; }
	if [ -n "${T:-}" ] && [ -d "$T" ]; then
		for d in "$T"/snaps/* "$T"/snaps/.??* "$T/upper" "$T/extract"; do
			[ -e "$d" ] && sbx rm "$d" >/dev/null 2>&1
		done
		chmod -R u+rwX "$T" 2>/dev/null
		rm -rf "$T"
	fi
}

# Run a step over the base snapshot with the test's upper/work dirs.
step() {
	sbx run --run-dir "$T/run" --lower "$BASE" --upper "$T/upper" --work "$T/work" "$@"
}

# A static xattr helper usable inside the busybox rootfs and on the host:
#   xattr set FILE NAME VALUE | xattr get FILE NAME
make_xattr_tool() {
	cat >"$B/xattr.c" <<'C'
#include <stdio.h>
#include <string.h>
#include <sys/xattr.h>
int main(int c, char **v) {
	char buf[256];
	ssize_t n;
	if (c == 5 && strcmp(v[1], "set") == 0)
		return lsetxattr(v[2], v[3], v[4], strlen(v[4]), 0) ? (perror("setxattr"), 1) : 0;
	if (c == 4 && strcmp(v[1], "get") == 0 && (n = lgetxattr(v[2], v[3], buf, sizeof(buf))) >= 0)
		return printf("%.*s\n", (int) n, buf) < 0;
	return 1;
}
C
	gcc -static -O1 -o "$B/xattr" "$B/xattr.c"
	chmod 755 "$B/xattr"
}

# list.sh ROOT [XATTR-TOOL]: one line per entry under ROOT (type, mode,
# owner, size, link count and md5 of files, link targets, user.test xattr),
# skipping the sandbox's own mount points.  Run with busybox sh both inside
# a step and on the host, so both sides format alike.
make_list_script() {
	cat >"$B/list.sh" <<'SH'
cd "$1" || exit 1
x=${2:-}
find . -xdev | sort | while IFS= read -r f; do
	case "$f" in
	. | ./proc | ./proc/* | ./dev | ./dev/* | ./sys | ./sys/* | ./etc/hosts | ./etc/hostname | ./etc/resolv.conf | ./list.sh | ./xattr) continue ;;
	esac
	t=$(stat -c %F "$f")
	case "$t" in
	regular*) extra="$(stat -c '%s %h' "$f") $(md5sum <"$f" | cut -c1-32)" ;;
	symbolic*) extra=$(readlink "$f") ;;
	*) extra= ;;
	esac
	xa=
	[ -n "$x" ] && [ ! -L "$f" ] && xa=$("$x" get "$f" user.test 2>/dev/null)
	echo "$f|${t%% empty*}|$(stat -c '%a %u %g' "$f")|$extra|$xa"
done
SH
}

# Build an OCI layout holding the base layer plus LAYER (media type MT)
# and unpack it with umoci into $T/bundle (as real root: tar headers carry
# in-image ids whichever way the layer was made).
umoci_unpack() {
	local layer=$1 mt=$2 diffid=$3 L=$T/layout
	mkdir -p "$L/blobs/sha256"
	echo '{"imageLayoutVersion":"1.0.0"}' >"$L/oci-layout"
	local bd bs ld ls cfg cd cs man md ms
	bd=$(sha256sum "$T/base.tar" | cut -d' ' -f1)
	bs=$(stat -c %s "$T/base.tar")
	cp "$T/base.tar" "$L/blobs/sha256/$bd"
	ld=$(sha256sum "$layer" | cut -d' ' -f1)
	ls=$(stat -c %s "$layer")
	cp "$layer" "$L/blobs/sha256/$ld"
	cfg=$(printf '{"architecture":"amd64","os":"linux","config":{},"rootfs":{"type":"layers","diff_ids":["sha256:%s","%s"]}}' "$bd" "$diffid")
	cd=$(printf '%s' "$cfg" | sha256sum | cut -d' ' -f1)
	cs=$(printf '%s' "$cfg" | wc -c)
	printf '%s' "$cfg" >"$L/blobs/sha256/$cd"
	man=$(printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":%s},{"mediaType":"%s","digest":"sha256:%s","size":%s}]}' "$cd" "$cs" "$bd" "$bs" "$mt" "$ld" "$ls")
	md=$(printf '%s' "$man" | sha256sum | cut -d' ' -f1)
	ms=$(printf '%s' "$man" | wc -c)
	printf '%s' "$man" >"$L/blobs/sha256/$md"
	printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"t"}}]}' "$md" "$ms" >"$L/index.json"
	umoci unpack --image "$L:t" "$T/bundle" >/dev/null
}

STEP_SCRIPT='set -e
echo one >/owned-1000; chown 1000:1000 /owned-1000
mkdir -p /home/bob; chown 1001:50 /home/bob; echo b >/home/bob/f; chown 1001:1001 /home/bob/f
echo big >/owned-65000; chown 65000:65001 /owned-65000
rm /data/keep/gone
rm -rf /data/old; mkdir /data/old; echo new >/data/old/fresh
rm -rf /replace; echo "now a file" >/replace
echo h >/hl-a; ln /hl-a /hl-b
ln -s /data/keep/k /sym-abs; ln -s ../k /data/keep/sym-rel
echo x >/xa; /xattr set /xa user.test hello
cp /bin/busybox /suidbox; chmod 4755 /suidbox
mkfifo /fifo; mkdir -p /empty/deeper
echo more >>/data/keep/k
chmod 700 /root
/bin/sh /list.sh / /xattr'

# The full round trip: step → layer → umoci over the base == what the step saw.
t_roundtrip() {
	local comp=${1:-none} mt=application/vnd.oci.image.layer.v1.tar flag=
	[ "$comp" = gzip ] && mt=$mt+gzip flag=--gzip
	[ "$comp" = zstd ] && mt=$mt+zstd flag=--zstd
	run step --mount "type=bind,source=$B/list.sh,target=/list.sh" \
		--mount "type=bind,source=$B/xattr,target=/xattr" -- sh -c "$STEP_SCRIPT"
	assert_success
	echo "$output" | grep -v '^warning: ' >"$T/seen.txt"
	if [ -n "${IBUILD_SNAPSHOTTER:-}" ]; then
		assert_line --partial 'warning: IBUILD_SNAPSHOTTER=copy'
	fi
	assert_output --partial './xa|regular file|644 0 0|2 1 '
	assert_output --partial '|hello'
	# the sandbox's mount points never reach the upper dir
	run as_mode ls -A "$T/upper"
	refute_output --partial proc
	refute_output --partial dev
	refute_output --partial list.sh
	run sbx commit --upper "$T/upper" --out "$T/layer" $flag
	assert_success
	local diffid
	diffid=$(echo "$output" | awk '$1=="diffid"{print $2}')
	# The layer holds OCI whiteouts, not overlay ones.
	run tar -tvf "$T/layer"
	assert_output --partial 'data/keep/.wh.gone'
	if [ -n "${IBUILD_SNAPSHOTTER:-}" ]; then
		# the copy snapshotter whites out each old entry instead
		assert_output --partial 'data/old/.wh.a'
	else
		assert_output --partial 'data/old/.wh..wh..opq'
	fi
	assert_output --partial 'hl-b link to hl-a'
	refute_output --partial 'list.sh'
	refute_output --partial 'etc/hosts'
	umoci_unpack "$T/layer" "$mt" "$diffid"
	busybox sh "$B/list.sh" "$T/bundle/rootfs" "$B/xattr" >"$T/unpacked.txt"
	run diff -u "$T/seen.txt" "$T/unpacked.txt"
	assert_success
	grep -q '^./suidbox|regular file|4755 0 0|' "$T/unpacked.txt"
	grep -q '^./fifo|fifo|' "$T/unpacked.txt"
	grep -q '^./owned-65000|regular file|644 65000 65001|' "$T/unpacked.txt"
	grep -q '^./replace|regular file|' "$T/unpacked.txt"
	! grep -q '^./data/old/a' "$T/unpacked.txt"
}

# The copy snapshotter (forced, then as the automatic fallback when the
# overlay mount fails: upper and work dirs on different file systems) gives
# the same upper dir, so the same round trip holds.
t_copy_snapshotter() {
	IBUILD_SNAPSHOTTER=copy t_roundtrip none
	assert_no_leftovers
	run as_mode ls -A "$T/work"
	assert_output ''
	# Fallback: overlay refuses an upper dir on another file system.
	local shm
	shm=$(mktemp -d /dev/shm/ibuild-sandbox-test.XXXXXX)
	chmod 755 "$shm"
	[ "$SANDBOX_MODE" = rootless ] && chown "$TESTUSER:" "$shm"
	as_mode mkdir "$shm/upper"
	run sbx run --run-dir "$T/run" --lower "$BASE" --upper "$shm/upper" --work "$T/work" -- sh -c 'rm /data/keep/gone; echo n >/data/n'
	local wh data
	wh=$(stat -c '%F %t:%T' "$shm/upper/data/keep/gone" 2>&1 || true)
	data=$(cat "$shm/upper/data/n" 2>&1 || true)
	rm -rf "$shm"
	assert_success
	assert_output --partial 'falling back to the copy snapshotter'
	[ "$wh" = "character special file 0:0" ]
	[ "$data" = n ]
}

# A committed upper dir is the next step's lower: its whiteouts, opaque dir
# and xattrs keep working without re-extraction.
t_second_step() {
	run step --mount "type=bind,source=$B/xattr,target=/xattr" -- sh -c \
		'rm /data/keep/gone && rm -rf /data/old && mkdir /data/old && echo n >/data/old/n && echo v >/v && /xattr set /v user.test kept && chown 1000:1000 /v'
	assert_success
	run sbx commit --upper "$T/upper" --out "$T/layer" --snapshots "$T/snaps"
	assert_success
	local snap
	snap=$(echo "$output" | awk '$1=="snapshot"{print $2}')
	[ -d "$snap" ]
	[ ! -e "$T/upper" ]
	as_mode mkdir "$T/upper2" "$T/work2"
	run sbx run --run-dir "$T/run" --lower "$snap" --lower "$BASE" --upper "$T/upper2" --work "$T/work2" \
		--mount "type=bind,source=$B/xattr,target=/xattr" -- \
		sh -c 'ls /data/keep; ls /data/old; /xattr get /v user.test; stat -c "%u:%g" /v'
	assert_success
	assert_output "k
n
kept
1000:1000"
	run as_mode ls -A "$T/upper2"
	assert_output ''
	# Unpacking the same layer again finds the existing snapshot.
	local diffid
	diffid=$(sha256sum "$T/layer" | cut -d' ' -f1)
	run sbx unpack --snapshots "$T/snaps" --layer "$T/layer" --diffid "sha256:$diffid"
	assert_success
	assert_output "$snap"
}

# Device nodes in a base layer: created as root, skipped with a warning
# rootless (as podman does); the rest of the layer is unpacked.
t_unpack_devices() {
	mkdir -p "$T/devl/dev"
	mknod "$T/devl/dev/null" c 1 3
	echo f >"$T/devl/file"
	(cd "$T/devl" && tar --numeric-owner -cf "$T/dev.tar" .)
	chmod 644 "$T/dev.tar"
	run sbx unpack --snapshots "$T/snaps" --layer "$T/dev.tar"
	assert_success
	local dir=${lines[-1]}
	[ "$(cat "$dir/file")" = f ]
	if [ "$SANDBOX_MODE" = rootless ]; then
		assert_output --partial 'dev/null: device node not created'
		[ ! -e "$dir/dev/null" ]
	else
		refute_output --partial warning
		[ -c "$dir/dev/null" ]
	fi
	# A wrong expected diffID is refused and leaves no snapshot behind.
	run sbx unpack --snapshots "$T/snaps" --layer "$T/base.tar" --diffid sha256:0000000000000000000000000000000000000000000000000000000000000000
	assert_failure 125
	assert_output --partial 'expected sha256:0000'
	run ls -A "$T/snaps"
	refute_output --partial .unpack
}

t_isolation() {
	touch "$T/host-sentinel"
	run step -- sh -c "test ! -e $T/host-sentinel && test ! -e /work && echo ok-hidden; \
		echo written >/tmp/inside; ls /proc | grep -cE '^[0-9]+\$'; cat /proc/1/cmdline >/dev/null && echo pid1; \
		hostname; cat /etc/hostname"
	assert_success
	assert_line --index 0 ok-hidden
	# pid 1, the shell, ls, grep: only the step's own processes
	[ "${lines[1]}" -le 5 ]
	assert_line --index 2 pid1
	assert_line --index 3 ibuild
	assert_line --index 4 ibuild
	[ ! -e /tmp/inside ]
	run as_mode ls "$T/upper/tmp"
	assert_output inside
	# pid 1 reaps orphans: no zombie stays behind.
	run step -- sh -c '(sleep 0.2 &); sleep 1.5; cat /proc/[0-9]*/stat | cut -d" " -f3 | grep -c Z'
	assert_output 0
	# The caller's other fds never reach the step.
	run step -- sh -c 'ls -l /proc/$$/fd; true' 7>"$T/leak" 9<"$T/base.tar"
	assert_success
	refute_output --partial leak
	refute_output --partial base.tar
	[ "$(echo "$output" | grep -c -- '->')" -eq 3 ]
}

t_caps() {
	run step -- sh -c 'grep -E "^(NoNewPrivs|CapBnd|CapEff):" /proc/self/status; mount -t tmpfs none /mnt 2>&1 || echo mount-denied; grep " /proc/sys " /proc/mounts'
	assert_success
	assert_line --regexp '^proc /proc/sys proc ro,'
	assert_line 'NoNewPrivs:	1'
	assert_line 'CapBnd:	00000000a80425fb'
	assert_line 'CapEff:	00000000a80425fb'
	assert_line mount-denied
	# /sys is there, read-only all the way down (cgroup mounts included).
	run step -- sh -c 'ls /sys/class >/dev/null && echo sys-ok; grep -E " /sys(/| )" /proc/mounts | grep -vc " ro,"'
	assert_line sys-ok
	assert_line 0
	run step --net none -- sh -c 'ls /sys/class/net; touch /sys/x 2>/dev/null || echo sys-ro'
	assert_output "lo
sys-ro"
	run step --user alice -- sh -c 'id; grep -E "^(NoNewPrivs|CapEff|CapPrm):" /proc/self/status'
	assert_success
	assert_line --index 0 --regexp '^uid=1000\(alice\) gid=1000\(alice\) groups=(1000\(alice\),)?50\(staff\)'
	assert_line 'NoNewPrivs:	1'
	assert_line 'CapEff:	0000000000000000'
	assert_line 'CapPrm:	0000000000000000'
}

# No mount, process or temp dir may outlive a step, however it ends.
assert_no_leftovers() {
	run grep -c "$T" /proc/self/mountinfo
	assert_output 0
	run pgrep -f "$MARK"
	assert_failure 1 # "no match" (a missing pgrep would be 127)
	run ls -A "$T/run"
	assert_output ''
}

t_failure_cleanup() {
	run step -- sh -c "sh -c 'sleep 300; true' $MARK & sleep 0.2; exit 3"
	assert_failure 3
	assert_no_leftovers
	run step -- sh -c 'kill -9 $$'
	assert_failure 137
	assert_no_leftovers
	run step -- /no/such/binary
	assert_failure 125
	assert_output --partial 'exec /no/such/binary'
	assert_no_leftovers
}

t_timeout_cleanup() {
	local t0=$SECONDS
	run step --timeout 1 -- sh -c "sh -c 'sleep 300; true' $MARK & sh -c 'sleep 301; true' $MARK"
	assert_failure 124
	assert_output --partial 'timed out'
	[ $((SECONDS - t0)) -lt 10 ]
	assert_no_leftovers
}

# A signal to the caller stops the step: SIGTERM lets it clean up
# everything; even SIGKILL leaves no process and no mount behind.
t_signal_cleanup() {
	step -- sh -c "sh -c 'sleep 300; true' $MARK & sleep 302" 2>"$T/err" &
	local pid=$!
	sleep 1.5
	# Signal the tool itself (not the subshell or runuser around it).
	pkill -TERM -f "^$SBX run --run-dir $T/run"
	local rc=0
	wait "$pid" || rc=$?
	[ "$rc" -eq 130 ]
	grep -q cancelled "$T/err"
	assert_no_leftovers
	step -- sh -c "sh -c 'sleep 300; true' $MARK & sleep 302" &
	pid=$!
	sleep 1.5
	pkill -KILL -f "^$SBX run --run-dir $T/run"
	wait "$pid" || true
	local i
	for i in 1 2 3 4 5 6 7 8 9 10; do
		pgrep -f "$MARK" >/dev/null || break
		sleep 0.2
	done
	run pgrep -f "$MARK"
	assert_failure 1 # "no match" (a missing pgrep would be 127)
	run grep -c "$T" /proc/self/mountinfo
	assert_output 0
}

t_mounts() {
	mkdir -p "$T/ctx"
	echo from-host >"$T/ctx/f"
	printf 's3cr3t' >"$T/secret"
	chmod 600 "$T/secret"
	[ "$SANDBOX_MODE" = rootless ] && chown -R "$TESTUSER:" "$T/ctx" "$T/secret"
	local m=(--cache-root "$T/cache"
		--mount "type=bind,source=$T/ctx,target=/ctx"
		--mount "type=bind,source=$T/ctx,target=/ctxrw,rw"
		--mount "type=cache,id=c1,target=/var/cache/thing,sharing=locked"
		--mount "type=tmpfs,target=/scratch"
		--mount "type=secret,id=tok,source=$T/secret"
		--mount "type=secret,id=tok2,source=$T/secret,target=/etc/tok,uid=1000,mode=0440")
	run step "${m[@]}" -- sh -c 'cat /ctx/f; (echo no >/ctx/g) 2>/dev/null || echo ro-ok; echo yes >/ctxrw/h;
		echo 1 >>/var/cache/thing/count; wc -l </var/cache/thing/count; echo t >/scratch/t;
		cat /run/secrets/tok; echo; stat -c "%a %u" /run/secrets/tok /etc/tok; grep -c " /scratch " /proc/mounts'
	assert_success
	assert_line --index 0 from-host
	assert_line --index 1 ro-ok
	assert_line --index 2 1
	assert_line --index 3 s3cr3t
	assert_line --index 4 '400 0'
	assert_line --index 5 '440 1000'
	[ "$(cat "$T/ctx/h")" = yes ]
	# The cache persists across steps; the mounts are never in the layer.
	run step "${m[@]}" -- sh -c 'echo 1 >>/var/cache/thing/count; wc -l </var/cache/thing/count'
	assert_output 2
	run as_mode find "$T/upper" -mindepth 1
	assert_output ''
	assert_no_leftovers
	# Errors name the input.
	run step --mount "type=bind,source=$T/nope,target=/x" -- true
	assert_failure 125
	assert_output --partial "$T/nope"
	run step --mount "type=tmpfs,target=/a/../etc" -- true
	assert_failure 125
	assert_output --partial "must not contain"
}

t_users_and_env() {
	run step --user bob:staff --cwd /home/bob/work --env FOO=bar -- sh -c 'id -u; id -g; pwd; echo $FOO; echo $HOME; echo $PATH'
	assert_success
	assert_output "1001
50
/home/bob/work
bar
/home/bob
/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	run step --user 4242:4243 -- sh -c 'echo $(id -u):$(id -g) > /tmp/o; cat /tmp/o'
	assert_output 4242:4243
	run step --rlimit nofile=123 -- sh -c 'ulimit -n'
	assert_output 123
	# Whether or not it can be applied here (sandbox-cgroup-*.bats check
	# which), a memory limit never stops the step.
	run step --memory 100m -- true
	assert_success
	run step --hostname builder-7 -- hostname
	assert_output builder-7
	run step --user nosuchuser -- true
	assert_failure 125
	assert_output --partial 'unable to find user nosuchuser'
}

t_net_none() {
	run step --net none -- sh -c 'cat /proc/net/dev | tail -n +3 | cut -d: -f1 | tr -d " "; ping -c1 -W1 127.0.0.1 >/dev/null 2>&1 && echo lo-up'
	assert_success
	assert_output "lo
lo-up"
}

t_scratch_base() {
	# A base without /etc, /proc or /dev: the mount points still exist in
	# the step but nothing of them lands in the upper dir.
	mkdir -p "$T/scratch/bin"
	[ "$SANDBOX_MODE" = rootless ] && chown -R "$TESTUSER:" "$T/scratch"
	as_mode cp /bin/busybox "$T/scratch/bin/busybox"
	run sbx run --run-dir "$T/run" --lower "$T/scratch" --upper "$T/upper" --work "$T/work" -- /bin/busybox ls /etc /proc/self/status
	assert_success
	assert_output --partial hosts
	run as_mode find "$T/upper" -mindepth 1
	assert_output ''
}

t_single_mapping() {
	run env IBUILD_IDMAP=single "$SBX" idmap
	assert_success
	assert_line --index 1 single
	assert_output --partial 'warning: no subordinate id range'
	if [ "$SANDBOX_MODE" = rootless ]; then
		run runuser -u "$TESTUSER" -- env IBUILD_IDMAP=single "$SBX" run --run-dir "$T/run" --lower "$BASE" --upper "$T/upper" --work "$T/work" -- id -u
		assert_success
		assert_output --partial 'warning: single id mapping'
		assert_line 0
		run runuser -u "$TESTUSER" -- env IBUILD_IDMAP=single "$SBX" run --run-dir "$T/run" --lower "$BASE" --upper "$T/upper" --work "$T/work" --user 1000 -- id -u
		assert_failure 125
		assert_output --partial 'only id 0 is mapped'
	fi
}

# ---- cgroup v2 limits ------------------------------------------------------
# Set IBUILD_TEST_REQUIRE_CGROUP=1 (CI on a cgroup v2 host) to make the
# tests fail instead of checking the warnings when pids/cpu are unavailable.

# The cgroup2 mount point, found as the sandbox finds it.
cg_root() {
	awk '{ for (i = 7; i <= NF; i++) if ($i == "-") { if ($(i + 1) == "cgroup2") { print $5; exit } break } }' /proc/self/mountinfo
}

# On a hybrid host, free the v1 hierarchies of CONTROLLERS so that the
# controllers move to cgroup v2: a hierarchy can go only when it has no
# child cgroup (num_cgroups 1 in /proc/cgroups) and nothing holds its mount.
# Idempotent; never touches a hierarchy in use (the memory one here).
# It changes the host's mounts, so it runs only when asked:
# IBUILD_TEST_FREE_V1_CGROUPS=1.
cg_free_controllers() {
	local c mp cg
	cg=$(cg_root)
	[ -n "$cg" ] || return 0
	for c in "$@"; do
		grep -qw "$c" "$cg/cgroup.controllers" && continue
		[ "$(awk -v c="$c" '$1 == c { print $3 }' /proc/cgroups)" = 1 ] || continue
		awk -v c="$c" '{ for (i = 7; i <= NF; i++) if ($i == "-") { if ($(i + 1) == "cgroup" && ("," $(i + 3) ",") ~ ("," c ",")) print $5, $(i + 3); break } }' /proc/self/mountinfo |
			while read -r mp opts; do
				if ! umount "$mp" 2>/dev/null; then
					echo "umount $mp: $(umount "$mp" 2>&1)" >>"$BATS_FILE_TMPDIR/cg-umount"
					continue
				fi
				sleep 0.2
				# Something else still holds the hierarchy: the
				# controller stayed in v1; put the mount back.
				if ! grep -qw "$c" "$cg/cgroup.controllers"; then
					mount -t cgroup -o "$opts" cgroup "$mp"
					echo "$mp: the v1 hierarchy is still held elsewhere (remounted)" >>"$BATS_FILE_TMPDIR/cg-umount"
				fi
			done
	done
}

# True when every controller named is available at the cgroup v2 root.
cg_have() {
	local c cg
	cg=$(cg_root)
	[ -n "$cg" ] || return 1
	for c in "$@"; do
		grep -qw "$c" "$cg/cgroup.controllers" || return 1
	done
}

# Whether this run can check enforcement: free pids+cpu (as root, only
# with IBUILD_TEST_FREE_V1_CGROUPS=1); then CG_LIMITS=1 when they are
# available.  Sets CG.
cg_prepare() {
	CG=$(cg_root)
	if [ -z "$CG" ]; then
		echo "no cgroup v2 mount in /proc/self/mountinfo" >&2
		return 1
	fi
	[ "${IBUILD_TEST_FREE_V1_CGROUPS:-}" = 1 ] && cg_free_controllers pids cpu
	CG_LIMITS=0
	cg_have pids cpu && CG_LIMITS=1
	export CG CG_LIMITS
}

# Without pids/cpu in cgroup v2 the enforcement checks become warning
# checks, unless IBUILD_TEST_REQUIRE_CGROUP=1 makes that a failure.
cg_require_limits() {
	[ "$CG_LIMITS" = 1 ] && return 0
	[ "${IBUILD_TEST_REQUIRE_CGROUP:-}" = 1 ] || return 0
	echo "IBUILD_TEST_REQUIRE_CGROUP=1 but the pids/cpu controllers are not in $CG/cgroup.controllers ($(cat "$CG/cgroup.controllers")); freeing their v1 hierarchies: $(cat "$BATS_FILE_TMPDIR/cg-umount" 2>/dev/null || echo 'no free hierarchy to unmount')" >&2
	return 1
}

# A fresh cgroup for one test under the v2 root, delegated to the test
# user in rootless mode (as systemd's Delegate=yes does: the dir and its
# cgroup.procs, cgroup.subtree_control and cgroup.threads), with pids and
# cpu enabled in the root's subtree_control when available.
cg_make_parent() {
	CGP=$CG/ibuild-test-$$-$RANDOM
	mkdir "$CGP"
	if [ "$CG_LIMITS" = 1 ]; then
		echo "+pids +cpu" >"$CG/cgroup.subtree_control"
	fi
	if [ "$SANDBOX_MODE" = rootless ]; then
		chown "$TESTUSER:" "$CGP" "$CGP/cgroup.procs" "$CGP/cgroup.subtree_control" "$CGP/cgroup.threads"
	fi
}

# Remove the test's cgroup (and ibuild-init, where the tool moved itself).
cg_remove_parent() {
	[ -n "${CGP:-}" ] && [ -d "$CGP" ] || return 0
	local d
	for d in "$CGP"/*/; do
		[ -d "$d" ] && rmdir "$d" 2>/dev/null
	done
	rmdir "$CGP" 2>/dev/null || true
}

# cg_step ARGS...: sandbox-run run over the base, started in $CGP (a shell
# moves itself there, then execs the tool, as the mode's user through
# setpriv, which execs rather than forks: the tool is the cgroup's only
# process, as ibuild is in a systemd unit with Delegate=yes).
cg_step() {
	local who=()
	[ "$SANDBOX_MODE" = rootless ] && who=(setpriv --reuid="$TESTUSER" --regid="$TESTUSER" --init-groups --)
	sh -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$CGP" "${who[@]}" env IBUILD_SNAPSHOTTER="${IBUILD_SNAPSHOTTER:-}" \
		"$SBX" run --run-dir "$T/run" --lower "$BASE" --upper "$T/upper" --work "$T/work" --env CG="$CG" "$@"
}

# No step cgroup may outlive its step.
assert_no_leaf() {
	run sh -c "ls '$CGP' | grep '^ibuild-[0-9]'"
	assert_output ''
}

# The step runs in a leaf "ibuild-PID-N" of the caller's cgroup; with the
# controllers there its pids.max and cpu.max hold the limits and a fork
# bomb is stopped; without them each limit is a warning naming it and why.
t_cgroup_limits() {
	cg_require_limits
	run cg_step --pids-limit 20 --cpus 0.5 -- sh -c 'l=$(sed -n "s/^0:://p" /proc/self/cgroup); echo "leaf=$l";
		echo "pids.max=$(cat "$CG$l/pids.max" 2>/dev/null)"; echo "cpu.max=$(cat "$CG$l/cpu.max" 2>/dev/null)"'
	assert_success
	assert_line --regexp "^leaf=${CGP#"$CG"}/ibuild-[0-9]+-1\$"
	local leaf
	leaf=$(echo "$output" | sed -n 's/^leaf=//p')
	[ ! -e "$CG$leaf" ]
	if [ "$CG_LIMITS" = 1 ]; then
		assert_line 'pids.max=20'
		assert_line 'cpu.max=50000 100000'
		refute_output --partial 'ignored'
	else
		assert_line 'pids.max='
		assert_output --partial "warning: pids limit 20 ignored: the cgroup v2 controller 'pids' is not available in $CGP"
		assert_output --partial "warning: cpus limit 0.5 ignored: the cgroup v2 controller 'cpu' is not available in $CGP"
	fi
	assert_no_leaf
	# 100 background sleeps against a limit of 20 processes.
	run cg_step --pids-limit 20 -- sh -c "i=0; while [ \$i -lt 100 ]; do sh -c 'sleep 30; true' $MARK & i=\$((i + 1)); done; echo started=\$i"
	if [ "$CG_LIMITS" = 1 ]; then
		assert_failure 2
		assert_output --partial "can't fork"
		refute_output --partial 'started='
	else
		assert_success
		assert_line started=100
	fi
	assert_no_leftovers
	assert_no_leaf
}

# However the step ends (failure, kill, timeout, a signal to the caller),
# its cgroup is removed.
t_cgroup_cleanup() {
	run cg_step --pids-limit 50 -- sh -c "sh -c 'sleep 300; true' $MARK & sleep 0.2; exit 3"
	assert_failure 3
	assert_no_leftovers
	assert_no_leaf
	run cg_step --pids-limit 50 -- sh -c 'kill -9 $$'
	assert_failure 137
	assert_no_leaf
	run cg_step --pids-limit 50 --timeout 1 -- sh -c "sh -c 'sleep 300; true' $MARK & sh -c 'sleep 301; true' $MARK"
	assert_failure 124
	assert_no_leftovers
	assert_no_leaf
	run cg_step --pids-limit 50 -- /no/such/binary
	assert_failure 125
	assert_no_leaf
	cg_step --pids-limit 50 -- sh -c "sh -c 'sleep 300; true' $MARK & sleep 302" 2>"$T/err" &
	local pid=$! i
	for i in $(seq 50); do
		[ -n "$(ls "$CGP" | grep '^ibuild-[0-9]')" ] && break
		sleep 0.1
	done
	[ -n "$(ls "$CGP" | grep '^ibuild-[0-9]')" ]
	sleep 0.5
	pkill -TERM -f "^$SBX run --run-dir $T/run"
	local rc=0
	wait "$pid" || rc=$?
	[ "$rc" -eq 130 ]
	assert_no_leftovers
	assert_no_leaf
}

# The caller's own cgroup (no test parent): the leaf goes right under it;
# without delegation (a rootless user in a root-owned cgroup) every limit
# is a warning and the step still runs.
t_cgroup_own() {
	local own
	own=$(sed -n 's/^0:://p' /proc/self/cgroup)
	run step --pids-limit 20 --memory 64m --env CG="$CG" -- sh -c 'sed -n "s/^0:://p" /proc/self/cgroup'
	assert_success
	if [ "$SANDBOX_MODE" = rootless ]; then
		assert_line "${own}"
		assert_output --partial "warning: pids limit 20 ignored: the cgroup $CG"
		assert_output --partial "is not delegated to uid $(id -u "$TESTUSER")"
		assert_output --partial "warning: memory limit 64 MiB ignored: the cgroup $CG"
		return
	fi
	assert_line --regexp "^${own%/}/ibuild-[0-9]+-1\$"
	local leaf
	leaf=$(echo "$output" | grep '/ibuild-[0-9]*-1$')
	[ ! -e "$CG$leaf" ]
	if ! cg_have memory; then
		assert_output --partial "warning: memory limit 64 MiB ignored: the cgroup v2 controller 'memory' is not available in $CG"
	fi
}

# ibuild --pids-limit/--cpus: a RUN step of a build lands in its own leaf
# under ibuild's cgroup, with the limits or a warning for each, and the
# leaf is gone after the build.
t_cgroup_ibuild() {
	mkdir -p "$T/ctx"
	cp /bin/busybox "$T/ctx/busybox"
	cat >"$T/ctx/Dockerfile" <<'DF'
FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "sh", "-c", "l=$(/bin/busybox sed -n 's/^0:://p' /proc/self/cgroup); echo leaf=$l; echo pids.max=$(/bin/busybox cat /sys/fs/cgroup/unified$l/pids.max /sys/fs/cgroup$l/pids.max 2>/dev/null)"]
DF
	[ "$SANDBOX_MODE" = rootless ] && chown -R "$TESTUSER:" "$T/ctx"
	local who=()
	[ "$SANDBOX_MODE" = rootless ] && who=(setpriv --reuid="$TESTUSER" --regid="$TESTUSER" --init-groups --)
	run sh -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$CGP" "${who[@]}" env IBUILD_STORE="$T/store" \
		"$IBUILD_BUILD/bin/ibuild" --progress plain --pids-limit 20 --cpus 0.5 "$T/ctx"
	assert_success
	assert_output --regexp "leaf=${CGP#"$CG"}/ibuild-[0-9]+-[0-9]+"
	if [ "$CG_LIMITS" = 1 ]; then
		assert_output --partial 'pids.max=20'
		refute_output --partial 'ignored'
	else
		assert_output --partial "pids limit 20 ignored: the cgroup v2 controller 'pids' is not available in $CGP"
		assert_output --partial "cpus limit 0.5 ignored"
	fi
	assert_no_leaf
	# Bad values are refused before anything runs, naming the option.
	run "$IBUILD_BUILD/bin/ibuild" --memory 12x "$T/ctx"
	assert_failure 2
	assert_output --partial "--memory: memory size '12x': unexpected 'x' at position 3"
	run "$IBUILD_BUILD/bin/ibuild" --cpus 0 "$T/ctx"
	assert_failure 2
	assert_output --partial "--cpus: cpus '0': at least 0.01"
}
