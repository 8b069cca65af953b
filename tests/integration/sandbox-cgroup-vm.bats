#!/usr/bin/env bats
# cgroup v2 limits of the RUN sandbox, enforced by a real kernel: this host
# has hybrid cgroups (pids, cpu and memory bound to v1), so the suite boots
# Debian's kernel under qemu (TCG) with an initramfs whose init mounts a pure
# cgroup2 hierarchy with +pids +cpu +memory enabled at the root, and runs
# sandbox-run and ibuild there as root (and sandbox-run as an unprivileged user
# in a delegated cgroup).  One boot (setup_file) runs every step; each
# test checks the markers its step printed on the serial console.

load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'
load vm-helpers

setup_file() {
	VMDIR=$(mktemp -d /tmp/ibuild-vm.XXXXXX)
	export VMDIR
	# Runs in the VM from /work, as root in the root cgroup.  Each step
	# prints "CG PATH" (its own cgroup, from /proc/self/cgroup) and reads
	# its limits through /sys/fs/cgroup (the host's, bound read-only into
	# the step); after each step the script reports whether that leaf and
	# any other ibuild-* cgroup are left.
	cat >"$VMDIR/test.sh" <<'EOF'
leaf_check() { # STEP: the step's leaf is gone, no ibuild-* cgroup is left
	cg=$(sed -n 's/^CG //p' out-$1 | head -n 1)
	echo "LEAFPATH $1 $cg"
	if [ -z "$cg" ] || [ "$cg" = / ]; then echo "LEAF $1 unknown"
	elif [ -e "/sys/fs/cgroup$cg" ]; then echo "LEAF $1 left"
	else echo "LEAF $1 gone"; fi
	leftover $1
}
leftover() { # STEP: how many step leaves (ibuild-PID-N) are left anywhere
	echo "LEFTOVER $1 $(find /sys/fs/cgroup -type d -name 'ibuild-[0-9]*' | wc -l)"
}
# An unprivileged user "u" (uid 1000) with a cgroup delegated to it as
# systemd's Delegate=yes does (the dir, cgroup.procs, cgroup.subtree_control
# and cgroup.threads chowned), and a base rootfs of its own (a single id
# mapping: the user has no subordinate ids here).
echo 'root:x:0:0:root:/root:/bin/sh' >/etc/passwd
echo 'u:x:1000:1000::/tmp:/bin/sh' >>/etc/passwd
printf 'root:x:0:\nu:x:1000:\n' >/etc/group
mkdir /sys/fs/cgroup/deleg
chown 1000:1000 /sys/fs/cgroup/deleg /sys/fs/cgroup/deleg/cgroup.procs \
	/sys/fs/cgroup/deleg/cgroup.subtree_control /sys/fs/cgroup/deleg/cgroup.threads
cp -a /base /ubase && chown -R 1000:1000 /ubase
as_root() { "$@"; }
as_user() { # CMD...: run as u from /deleg
	sh -c 'echo $$ >/sys/fs/cgroup/deleg/cgroup.procs && exec su -s /bin/sh u -c "exec \"\$0\" \"\$@\"" -- "$@"' sh \
		env IBUILD_IDMAP=single "$@"
}
AS=as_root LOWER=/base
run_step() { # NAME SANDBOX-RUN-OPTIONS... -- CMD...
	name=$1; shift
	mkdir -p /work/up-$name /work/wk-$name
	[ $AS = as_user ] && chown 1000:1000 /work/up-$name /work/wk-$name
	$AS sandbox-run run --lower $LOWER --upper /work/up-$name --work /work/wk-$name --timeout 60 "$@" >out-$name 2>&1
	echo "RC $name $?"
	sed "s/^/OUT $name: /" out-$name
	leaf_check $name
}

# pids: 20 in all (helper, pid 1, the shell and the subshell count too);
# 100 background sleeps cannot all start.
PIDS='
	cg=$(sed -n "s/^0:://p" /proc/self/cgroup); echo "CG $cg"
	read v </sys/fs/cgroup$cg/pids.max; echo "PIDSMAX $v"
	( i=0; while [ $i -lt 100 ]; do sleep 30 & echo STARTED; i=$((i+1)); done )
	while read k v; do echo "PIDSEVENT $k $v"; done </sys/fs/cgroup$cg/pids.events
	exit 0'
run_step pids --pids-limit 20 -- sh -c "$PIDS"

# memory: 64 MiB, and dd allocates (and fills) a 200 MiB buffer.
MEM='
	cg=$(sed -n "s/^0:://p" /proc/self/cgroup); echo "CG $cg"
	read v </sys/fs/cgroup$cg/memory.max; echo "MEMMAX $v"
	read v </sys/fs/cgroup$cg/memory.swap.max; echo "SWAPMAX $v"
	exec dd if=/dev/zero of=/dev/null bs=200M count=1'
run_step mem --memory 64m -- sh -c "$MEM"

# cpu: 0.5 CPU is cpu.max "50000 100000"; a second of busy looping is
# throttled.
run_step cpu --cpus 0.5 -- sh -c '
	cg=$(sed -n "s/^0:://p" /proc/self/cgroup); echo "CG $cg"
	read v </sys/fs/cgroup$cg/cpu.max; echo "CPUMAX $v"
	timeout 1 sh -c "while :; do :; done"
	while read k v; do echo "CPUSTAT $k $v"; done </sys/fs/cgroup$cg/cpu.stat'

# The same pids and memory steps as the unprivileged user in /deleg.  The
# first enables only pids (a threaded controller, which the kernel lets a
# cgroup holding processes enable, making it a thread root); the second
# starts in /deleg with pids already on there (so it must switch pids off to
# move itself to /deleg/ibuild-init before +memory can be enabled).
AS=as_user LOWER=/ubase
run_step upids --pids-limit 20 -- sh -c "$PIDS"
run_step umem --memory 64m -- sh -c "$MEM"
echo "DELEG subtree_control $(cat /sys/fs/cgroup/deleg/cgroup.subtree_control)"
echo "DELEG procs_in_init $(cat /sys/fs/cgroup/deleg/ibuild-init/cgroup.procs | wc -l)"
# ibuild: RUN steps get the limits, and an OOM-killed RUN fails the build.
cd /ctx
cat >Dockerfile <<'DF'
FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "sh", "-c", "l=$(/bin/busybox sed -n 's/^0:://p' /proc/self/cgroup); echo LEAF=$l; echo PIDSMAX=$(/bin/busybox cat /sys/fs/cgroup$l/pids.max); echo MEMMAX=$(/bin/busybox cat /sys/fs/cgroup$l/memory.max); echo CPUMAX=$(/bin/busybox cat /sys/fs/cgroup$l/cpu.max)"]
DF
cat >Dockerfile.oom <<'DF'
FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "dd", "if=/dev/zero", "of=/dev/null", "bs=200M", "count=1"]
DF
ibuild --store /work/store --progress plain --pids-limit 20 --memory 64m --cpus 0.5 /ctx >/work/out-ib 2>&1
echo "RC ib $?"
sed "s/^/OUT ib: /" /work/out-ib
leftover ib
ibuild --store /work/store --progress plain --memory 64m -f Dockerfile.oom /ctx >/work/out-iboom 2>&1
echo "RC iboom $?"
sed "s/^/OUT iboom: /" /work/out-iboom
leftover iboom
EOF
	vm_make_initramfs "$VMDIR" "$VMDIR/test.sh"
	vm_boot "$VMDIR" "$VMDIR/console.log" 85
}

teardown_file() {
	[ -n "${VMDIR:-}" ] && rm -rf "$VMDIR"
}

# The value of marker KEY for STEP ("KEY STEP VALUE" lines).
marker() {
	sed -n "s/^$1 $2 //p" "$VMDIR/console.log" | head -n 1
}

@test "vm: the kernel booted with a pure cgroup2 root offering pids, cpu and memory" {
	run cat "$VMDIR/console.log"
	assert_output --partial "VMDONE"
	refute_output --partial "VMFAIL"
	assert_line --regexp '^VMINFO subtree_control (.* )?cpu( |$)'
	assert_line --regexp '^VMINFO subtree_control (.* )?memory( |$)'
	assert_line --regexp '^VMINFO subtree_control (.* )?pids( |$)'
	assert_line 'VMINFO self 0::/'
	refute_output --partial "ignored"
	# overlay (the module is loaded by the init script), not the copy fallback
	refute_output --partial "copy snapshotter"
}

@test "vm: pids limit 20 is enforced: forks fail and pids.events counts them" {
	assert_equal "$(sed -n 's/^OUT pids: PIDSMAX //p' "$VMDIR/console.log")" 20
	# 20 less the helper, the sandbox's pid 1, the shell and the subshell
	run grep -c '^OUT pids: STARTED$' "$VMDIR/console.log"
	assert_output 16
	run grep "^OUT pids: " "$VMDIR/console.log"
	assert_output --regexp "can't fork|Resource temporarily unavailable"
	local n
	n=$(sed -n 's/^OUT pids: PIDSEVENT max //p' "$VMDIR/console.log")
	[ -n "$n" ] && [ "$n" -gt 0 ] || fail "pids.events max is '$n'"
	assert_equal "$(marker RC pids)" 0
}

@test "vm: memory limit 64 MiB is enforced: the step is OOM-killed and the warning says so" {
	assert_equal "$(sed -n 's/^OUT mem: MEMMAX //p' "$VMDIR/console.log")" 67108864
	assert_equal "$(sed -n 's/^OUT mem: SWAPMAX //p' "$VMDIR/console.log")" 0
	assert_equal "$(marker RC mem)" 137
	run grep "^OUT mem: " "$VMDIR/console.log"
	assert_output --partial "warning: killed: out of memory (memory limit 64 MiB)"
	refute_output --partial "records out"
}

@test "vm: cpus 0.5 is cpu.max \"50000 100000\" and a busy loop is throttled" {
	assert_equal "$(sed -n 's/^OUT cpu: CPUMAX //p' "$VMDIR/console.log")" "50000 100000"
	local n
	n=$(sed -n 's/^OUT cpu: CPUSTAT nr_throttled //p' "$VMDIR/console.log")
	[ -n "$n" ] && [ "$n" -gt 0 ] || fail "cpu.stat nr_throttled is '$n'"
	assert_equal "$(marker RC cpu)" 0
}

@test "vm: each step ran in its own ibuild-* leaf, removed after the step" {
	local s
	for s in pids mem cpu; do
		assert_regex "$(marker LEAFPATH $s)" '^/ibuild-[0-9]+-[0-9]+$'
		assert_equal "$(marker LEAF $s)" gone
		assert_equal "$(marker LEFTOVER $s)" 0
	done
}

@test "vm: an unprivileged user in a delegated cgroup gets the pids and memory limits enforced too" {
	assert_equal "$(sed -n 's/^OUT upids: PIDSMAX //p' "$VMDIR/console.log")" 20
	run grep "^OUT upids: " "$VMDIR/console.log"
	assert_output --regexp "can't fork|Resource temporarily unavailable"
	assert_line --regexp '^OUT upids: PIDSEVENT max [1-9][0-9]*$'
	assert_equal "$(marker RC upids)" 0
	assert_equal "$(sed -n 's/^OUT umem: MEMMAX //p' "$VMDIR/console.log")" 67108864
	assert_equal "$(marker RC umem)" 137
	run grep "^OUT umem: " "$VMDIR/console.log"
	assert_output --partial "warning: killed: out of memory (memory limit 64 MiB)"
	# the sandbox moved the user's process to /deleg/ibuild-init (which
	# exists, now empty) and enabled the requested controllers in /deleg
	assert_equal "$(marker DELEG subtree_control)" "memory pids"
	assert_equal "$(marker DELEG procs_in_init)" 0
	local s
	for s in upids umem; do
		assert_regex "$(marker LEAFPATH $s)" '^/deleg/ibuild-[0-9]+-[0-9]+$'
		assert_equal "$(marker LEAF $s)" gone
		assert_equal "$(marker LEFTOVER $s)" 0
	done
}

@test "vm: ibuild --pids-limit/--memory/--cpus put a RUN step in a leaf with those limits" {
	assert_equal "$(marker RC ib)" 0
	run grep "^OUT ib: " "$VMDIR/console.log"
	assert_line --regexp '^OUT ib: LEAF=/ibuild-[0-9]+-[0-9]+$'
	assert_line 'OUT ib: PIDSMAX=20'
	assert_line 'OUT ib: MEMMAX=67108864'
	assert_line 'OUT ib: CPUMAX=50000 100000'
	assert_line --regexp '^OUT ib: sha256:[0-9a-f]{64}$'
	assert_equal "$(marker LEFTOVER ib)" 0
}

@test "vm: ibuild --memory 64m: a RUN step allocating 200 MiB is OOM-killed and fails the build" {
	assert_equal "$(marker RC iboom)" 1
	run grep "^OUT iboom: " "$VMDIR/console.log"
	assert_output --partial "warning: killed: out of memory (memory limit 64 MiB)"
	assert_output --partial "Dockerfile.oom:3:"
	assert_output --partial "exit status 137"
	assert_equal "$(marker LEFTOVER iboom)" 0
}
