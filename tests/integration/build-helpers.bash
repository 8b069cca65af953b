# Shared by the build-*.bats files: a store with a busybox base image made
# once per file (FROM scratch + COPY busybox + RUN busybox --install -s), and
# helpers that check built images with independent tools (umoci, skopeo,
# oci-image-tool, tar).
#   BUILD_MODE=root|rootless (set by the .bats file before loading this)

load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'

TESTUSER=ibuildtest

ensure_user() {
	id "$TESTUSER" >/dev/null 2>&1 || useradd -m "$TESTUSER" 2>/dev/null || id "$TESTUSER" >/dev/null
	grep -q "^$TESTUSER:" /etc/subuid || echo "$TESTUSER:200000:65536" >>/etc/subuid
	grep -q "^$TESTUSER:" /etc/subgid || echo "$TESTUSER:200000:65536" >>/etc/subgid
}

as_mode() {
	if [ "${BUILD_MODE:-root}" = rootless ]; then
		runuser -u "$TESTUSER" -- env IBUILD_STORE="$IBUILD_STORE" "$@"
	else
		"$@"
	fi
}

# ibuild as the mode's user, with the shared store.
ib() { as_mode "$IBUILD_BUILD/bin/ibuild" "$@"; }

setup_file() {
	[ "${BUILD_MODE:-root}" = rootless ] && ensure_user
	B=$(mktemp -d /tmp/ibuild-build-base.XXXXXX)
	chmod 755 "$B"
	mkdir -p "$B/ctx"
	cp /bin/busybox "$B/ctx/busybox"
	printf 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n' >"$B/ctx/passwd"
	printf 'root:x:0:\napp:x:1000:\nstaff:x:50:app\n' >"$B/ctx/group"
	cat >"$B/ctx/Dockerfile" <<'DF'
FROM scratch
COPY busybox /bin/busybox
COPY passwd group /etc/
RUN ["/bin/busybox", "--install", "-s", "/bin"]
RUN mkdir -p /data/keep /tmp && echo k >/data/keep/k && echo gone >/data/keep/gone && chmod 1777 /tmp
CMD ["/bin/sh"]
DF
	export IBUILD_STORE=$B/store
	[ "${BUILD_MODE:-root}" = rootless ] && chown -R "$TESTUSER:" "$B"
	ib -q -t testbase:1 "$B/ctx" >"$B/base.out" 2>&1 || { cat "$B/base.out" >&2; return 1; }
	export B
}

teardown_file() {
	if [ -n "${B:-}" ]; then
		# Snapshot files may belong to subordinate ids: remove them as root.
		rm -rf "$B"
	fi
}

setup() {
	export IBUILD_STORE=$B/store
	T=$(mktemp -d /tmp/ibuild-build-test.XXXXXX)
	chmod 755 "$T"
	mkdir -p "$T/ctx"
	[ "${BUILD_MODE:-root}" = rootless ] && chown -R "$TESTUSER:" "$T"
	true
}

teardown() {
	[ -n "${T:-}" ] && rm -rf "$T"
}

# Write the Dockerfile of the test context from stdin.
dockerfile() { cat >"$T/ctx/Dockerfile"; [ "${BUILD_MODE:-root}" = rootless ] && chown -R "$TESTUSER:" "$T/ctx"; true; }

# Fix ownership of files the test wrote into its dir.
own() { [ "${BUILD_MODE:-root}" = rootless ] && chown -R "$TESTUSER:" "$T"; true; }

# Export NAME from the store into a layout $T/lay (tag "t") and unpack it.
export_layout() {
	local name=$1
	rm -rf "$T/lay" "$T/bundle"
	skopeo copy -q "oci:$IBUILD_STORE:localhost/$name" "oci:$T/lay:t"
}

unpack() {
	export_layout "$1"
	umoci unpack --rootless --image "$T/lay:t" "$T/bundle" >/dev/null
}

# The raw image config of NAME.
config_of() { skopeo inspect --config --raw "oci:$IBUILD_STORE:localhost/$1"; }
