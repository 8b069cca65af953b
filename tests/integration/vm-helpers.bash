# Boot a Debian kernel under qemu (TCG) with a generated initramfs, to run
# the sandbox in a pure cgroup v2 hierarchy with the pids, cpu and memory
# controllers (this host's hybrid cgroups have none of them in cgroup2).
#
#   vm_kernel                      print the kernel image to boot (or fail)
#   vm_make_initramfs DIR SCRIPT   build DIR/initramfs.cpio: busybox-static,
#                                  sandbox-run, ibuild and the libraries ldd
#                                  lists, the kernel's overlay module, a
#                                  busybox base rootfs at /base, a build
#                                  context /ctx (busybox only), and SCRIPT
#                                  run as root after the cgroup2 setup
#   vm_boot DIR LOG [SECONDS]      boot it; the serial console goes to LOG
#
# /init switches to a tmpfs root first: pivot_root(2), which the sandbox
# uses, refuses the initramfs root.  The test script's output lines are the
# markers the test parses; the VM powers itself off when the script ends.

# The newest installed kernel image, preferring Debian's cloud flavour
# (small, boots fast, and has user namespaces and cgroup2 built in).
vm_kernel() {
	local k
	k=$(ls -1 /boot/vmlinuz-*-cloud-amd64 2>/dev/null | sort -V | tail -n 1)
	[ -n "$k" ] || k=$(ls -1 /boot/vmlinuz-* 2>/dev/null | sort -V | tail -n 1)
	if [ -z "$k" ] || [ ! -r "$k" ]; then
		echo "vm: no readable /boot/vmlinuz-* (install linux-image-cloud-amd64)" >&2
		return 1
	fi
	echo "$k"
}

# Copy FILE and every library ldd lists for it (and the loader) under ROOT,
# at the same paths (resolved, so merged-/usr symlinks become plain files).
vm_copy_with_libs() {
	local root=$1 file=$2 lib
	mkdir -p "$root$(dirname "$file")"
	cp -L "$file" "$root$file"
	for lib in $(ldd "$file" | grep -o '/[^ ]*'); do
		[ -e "$root$lib" ] && continue
		mkdir -p "$root$(dirname "$lib")"
		cp -L "$lib" "$root$lib"
	done
}

vm_make_initramfs() {
	local dir=$1 script=$2 r="$1/root"
	local sbx="$IBUILD_TOOLS/sandbox-run" ibuild="$IBUILD_BUILD/bin/ibuild" kernel kver

	[ -x "$sbx" ] || { echo "vm: $sbx is missing (make tests)" >&2; return 1; }
	[ -x "$ibuild" ] || { echo "vm: $ibuild is missing (make)" >&2; return 1; }
	kernel=$(vm_kernel) || return 1
	command -v cpio >/dev/null || { echo "vm: cpio is missing (scripts/deps.sh test)" >&2; return 1; }
	mkdir -p "$r/bin" "$r/sbin" "$r/etc" "$r/proc" "$r/sys" "$r/dev" "$r/tmp" "$r/newroot" \
		"$r/base/bin" "$r/base/etc" "$r/base/tmp" "$r/base/root"
	cp /bin/busybox "$r/bin/busybox"
	file "$r/bin/busybox" 2>/dev/null | grep -q 'dynamically' && { echo "vm: /bin/busybox is not static" >&2; return 1; }
	vm_copy_with_libs "$r" "$sbx"
	mv "$r$sbx" "$r/bin/sandbox-run"
	vm_copy_with_libs "$r" "$ibuild"
	mv "$r$ibuild" "$r/bin/ibuild"
	# overlay is a module in Debian's kernels: stage 2 loads it.
	kver=$(basename "$kernel"); kver=${kver#vmlinuz-}
	[ -r "/lib/modules/$kver/kernel/fs/overlayfs/overlay.ko" ] &&
		cp "/lib/modules/$kver/kernel/fs/overlayfs/overlay.ko" "$r/overlay.ko"
	# The step's root: busybox and its applets as relative symlinks.
	cp /bin/busybox "$r/base/bin/busybox"
	/bin/busybox --list | grep -vx busybox |
		(cd "$r/base/bin" && perl -ne 'chomp; symlink("busybox", $_) or die "$_: $!"')
	printf 'root:x:0:0:root:/root:/bin/sh\n' >"$r/base/etc/passwd"
	printf 'root:x:0:\n' >"$r/base/etc/group"
	chmod 1777 "$r/base/tmp" "$r/tmp"
	cp "$script" "$r/test.sh"
	# A build context for ibuild: FROM scratch and busybox.
	mkdir -p "$r/ctx"
	cp /bin/busybox "$r/ctx/busybox"

	# Stage 1: move to a tmpfs root (busybox switch_root empties the
	# initramfs and execs stage 2 there).
	cat >"$r/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox mount -t tmpfs -o mode=755 tmpfs /newroot
/bin/busybox cp -a /bin /base /etc /test.sh /stage2 /newroot/
for f in /overlay.ko /ctx; do [ -e $f ] && /bin/busybox cp -a $f /newroot/; done
for d in /lib /lib64 /usr; do [ -e $d ] && /bin/busybox cp -a $d /newroot/; done
/bin/busybox mkdir -p /newroot/proc /newroot/sys /newroot/dev /newroot/tmp /newroot/work
/bin/busybox chmod 1777 /newroot/tmp
exec /bin/busybox switch_root /newroot /stage2
echo "VMFAIL switch_root"
/bin/busybox poweroff -f
EOF
	# Stage 2: file systems, a pure cgroup2 hierarchy with the controllers
	# enabled for children of the root, then the test script.
	cat >"$r/stage2" <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null || mount -t tmpfs tmpfs /dev
[ -e /overlay.ko ] && insmod /overlay.ko
mount -t cgroup2 cgroup2 /sys/fs/cgroup || echo "VMFAIL mount cgroup2"
echo "+pids +cpu +memory" >/sys/fs/cgroup/cgroup.subtree_control ||
	echo "VMFAIL subtree_control"
echo "VMINFO kernel $(uname -r)"
echo "VMINFO controllers $(cat /sys/fs/cgroup/cgroup.controllers)"
echo "VMINFO subtree_control $(cat /sys/fs/cgroup/cgroup.subtree_control)"
echo "VMINFO self $(cat /proc/self/cgroup)"
cd /work
sh /test.sh 2>&1
echo "VMDONE"
sync
poweroff -f
EOF
	chmod 755 "$r/init" "$r/stage2" "$r/test.sh"
	(cd "$r" && find . | cpio -o -H newc --quiet >"$dir/initramfs.cpio")
}

# Boot the VM: TCG (no /dev/kvm here), 2 CPUs, 512 MiB, no network, no
# disks; the kernel panics and qemu exits on any failure (panic=-1 with
# -no-reboot).  Fails when qemu did not exit within SECONDS (default 85).
vm_boot() {
	local dir=$1 log=$2 secs=${3:-85} kernel rc=0
	kernel=$(vm_kernel) || return 1
	timeout -k 5 "$secs" qemu-system-x86_64 -accel tcg,thread=multi -cpu max -smp 2 -m 512 \
		-nographic -no-reboot -nodefaults -serial stdio -monitor none -net none \
		-kernel "$kernel" -initrd "$dir/initramfs.cpio" \
		-append "console=ttyS0 panic=-1 quiet loglevel=3 mitigations=off rdinit=/init" \
		</dev/null >"$log" 2>&1 || rc=$?
	tr -d '\r' <"$log" >"$log.tmp" && mv "$log.tmp" "$log"
	if [ "$rc" -ne 0 ]; then
		echo "vm: qemu failed or timed out after ${secs}s (status $rc); console:" >&2
		tail -n 40 "$log" >&2
		return 1
	fi
}
