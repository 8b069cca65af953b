# Prune against running builds: the store hold (oci/store.h).  Shared by
# build-prune.bats (root) and build-prune-rootless.bats; each case_* is one
# test.  A build's RUN step waits for $T/ctx/go (the context, bind-mounted
# live at /ctx) while the test runs prune; the step gives up after 60 s so
# nothing hangs if a check fails first.

BUILD_PID=
OTHER_PID=
PUSH_PID=

# Start building NAME in the background from a context whose base image
# (pbase-$1) only this build uses: once that name is removed, its blobs and
# its snapshot are what a prune would take from under the build.
start_waiting_build() {
	local name=$1
	mkdir -p "$T/base" "$T/ctx"
	printf 'FROM testbase:1\nRUN echo base-%s >/base\n' "$name-$$-$RANDOM" >"$T/base/Dockerfile"
	cat >"$T/ctx/Dockerfile" <<'DF'
ARG BASE
FROM $BASE
RUN --mount=type=bind,target=/ctx sh -c 'echo step-waiting; i=0; while [ ! -e /ctx/go ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done; [ -e /ctx/go ] && echo built >/built'
DF
	own
	ib -q -t "pbase-$name:1" "$T/base" >"$T/base.log" 2>&1 || { cat "$T/base.log"; return 1; }
	ib --build-arg "BASE=pbase-$name:1" -t "$name:1" "$T/ctx" >"$T/build.log" 2>&1 &
	BUILD_PID=$!
	# Until the RUN step is running (its lowers mounted).
	for _ in $(seq 300); do
		grep -q step-waiting "$T/build.log" && return 0
		kill -0 "$BUILD_PID" 2>/dev/null || break
		sleep 0.1
	done
	cat "$T/build.log"
	return 1
}

# Let the waiting build finish; its exit status.
finish_build() {
	touch "$T/ctx/go"
	local rc=0
	wait "$BUILD_PID" || rc=$?
	BUILD_PID=
	return $rc
}

# Every blob of store image NAME (manifest, config, layers) is there and
# has its digest, and the image unpacks.
image_complete() {
	local name=$1 m d
	m=$(skopeo inspect --raw "oci:$IBUILD_STORE:localhost/$name")
	for d in $(jq -r '.config.digest, .layers[].digest' <<<"$m"); do
		[ "$(sha256sum <"$IBUILD_STORE/blobs/sha256/${d#sha256:}" | cut -d' ' -f1)" = "${d#sha256:}" ] ||
			{ echo "blob $d of $name missing or corrupt"; return 1; }
	done
	unpack "$name"
	oci-image-tool validate --type image --ref name=t "$T/lay" >/dev/null
}

# The blobs of pbase-NAME:1 (read while it is still named).
base_blobs() {
	skopeo inspect --raw "oci:$IBUILD_STORE:localhost/pbase-$1:1" |
		jq -r '.config.digest, .layers[].digest'
	skopeo inspect --raw "oci:$IBUILD_STORE:localhost/pbase-$1:1" | sha256sum | sed 's/ .*//; s/^/sha256:/'
}

prune_teardown() {
	[ -e "${T:-/nonexistent}/ctx" ] && touch "$T/ctx/go"
	if [ -n "$BUILD_PID" ]; then wait "$BUILD_PID" || true; fi
	[ -e "${T:-/nonexistent}" ] && touch "$T/release"
	if [ -n "$OTHER_PID" ]; then wait "$OTHER_PID" || true; fi
	if [ -n "$PUSH_PID" ]; then wait "$PUSH_PID" || true; fi
	BUILD_PID= OTHER_PID= PUSH_PID=
}

case_prune_waits() {
	start_waiting_build pw
	blobs=$(base_blobs pw)
	run ib rmi pbase-pw:1
	assert_success
	ib prune --all --grace 0 >"$T/prune.log" 2>&1 &
	OTHER_PID=$!
	# The prune waits, saying why once, and removes nothing meanwhile.
	sleep 2
	kill -0 "$OTHER_PID"
	run cat "$T/prune.log"
	assert_output "ibuild: waiting for 1 running build(s), pull(s) or push(es) using $IBUILD_STORE to finish"
	for d in $blobs; do [ -f "$IBUILD_STORE/blobs/sha256/${d#sha256:}" ]; done

	finish_build
	wait "$OTHER_PID"
	OTHER_PID=
	run cat "$T/prune.log"
	assert_line --index 1 --regexp '^removed [0-9]+ build cache entries'
	# The build named its image before the prune ran: nothing it needs went,
	# though its base lost its name.
	image_complete pw:1
	[ "$(cat "$T/bundle/rootfs/built")" = built ]
	grep -q '^base-pw-' "$T/bundle/rootfs/base"
}

case_no_wait() {
	start_waiting_build nw
	blobs=$(base_blobs nw)
	ib rmi pbase-nw:1 >/dev/null
	start=$SECONDS
	run ib prune --no-wait --all --grace 0
	assert_failure
	assert_output "ibuild: error: not waiting (--no-wait): store $IBUILD_STORE is in use by 1 running build(s), pull(s) or push(es)"
	[ $((SECONDS - start)) -lt 5 ]
	for d in $blobs; do [ -f "$IBUILD_STORE/blobs/sha256/${d#sha256:}" ]; done
	finish_build
	image_complete nw:1
	# Nothing running: --no-wait prunes at once.
	run ib prune --no-wait --grace 0
	assert_success
	assert_output --regexp '^removed [0-9]+ build cache entries'
}

# A build, a pull into the store and a push from it each wait for a prune
# that holds the store (here flock(1) stands in for a long prune).
case_users_wait_for_prune() {
	local lock=$IBUILD_STORE/users.lock
	[ -e "$lock" ] # made by the build of testbase:1
	mkdir -p "$T/ctx"
	printf 'FROM testbase:1\nRUN echo %s >/f\n' "wait-$$-$RANDOM" >"$T/ctx/Dockerfile"
	own
	# Held until $T/release exists (60 s at most).
	flock -x "$lock" sh -c 'touch "$1"; i=0; while [ ! -e "$2" ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done' \
		sh "$T/locked" "$T/release" &
	OTHER_PID=$!
	for _ in $(seq 100); do [ -e "$T/locked" ] && break; sleep 0.1; done
	[ -e "$T/locked" ]
	ib -q -t later:1 "$T/ctx" >"$T/build.log" 2>&1 &
	BUILD_PID=$!
	as_mode "$IBUILD_BUILD/bin/ipush" --store "$IBUILD_STORE" testbase:1 "oci:$T/pushed:x" >"$T/push.log" 2>&1 &
	PUSH_PID=$!
	sleep 2
	kill -0 "$BUILD_PID"
	kill -0 "$PUSH_PID"
	run cat "$T/build.log"
	assert_output "ibuild: waiting for the prune of $IBUILD_STORE to finish"
	run cat "$T/push.log"
	assert_output "ipush: waiting for the prune of $IBUILD_STORE to finish"
	touch "$T/release"
	wait "$OTHER_PID"
	OTHER_PID=
	wait "$BUILD_PID"
	BUILD_PID=
	wait "$PUSH_PID"
	PUSH_PID=
	image_complete later:1
	[ -f "$T/pushed/index.json" ]
}
