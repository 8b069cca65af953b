# A throwaway Ceph cluster with the RADOS Gateway (S3) on loopback, for bats
# files that need a real object store.  Call ceph_start from setup_file and
# ceph_stop from teardown_file: one cluster per test file (it starts in a
# few seconds), one monitor and one OSD on memstore (RAM, nothing on disk
# but logs), every port chosen free, everything under one temp dir.
#
#   ceph_start [N_RGW]   N_RGW gateways (1 or 2) over the same cluster; exports
#                        S3_ENDPOINT (and S3_ENDPOINT2), S3_ACCESS_KEY,
#                        S3_SECRET_KEY, S3_BUCKET (created, empty), S3_REGION,
#                        CEPH_CONF, CEPH_DIR and CEPH_PIDS
#   ceph_stop            kill the daemons ceph_start started (by PID), wait
#                        for them, remove CEPH_DIR
#
# Needs the Debian packages ceph-mon ceph-osd radosgw ceph-common
# uuid-runtime (scripts/deps.sh test).

CEPH_PY=$(command -v /usr/bin/python3 || command -v python3)

ceph_free_port() {
	"$CEPH_PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# ceph_wait SECONDS COMMAND...: run COMMAND until it succeeds, at most
# SECONDS; fails (with the daemons' log tails on stderr) when it never does.
ceph_wait() {
	local secs=$1 i
	shift
	for i in $(seq $((secs * 5))); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.2
	done
	echo "ceph: timed out waiting for: $*" >&2
	tail -n 20 "$CEPH_DIR"/log/*.log >&2 2>/dev/null
	return 1
}

# ceph_spawn NAME COMMAND...: start a daemon in the foreground of a
# background job (its PID is the daemon's), detached from bats' fd 3.
ceph_spawn() {
	local name=$1
	shift
	"$@" >>"$CEPH_DIR/log/$name.out" 2>&1 3>&- </dev/null &
	CEPH_PIDS="$CEPH_PIDS $!"
	export CEPH_PIDS
}

ceph_osd_up() {
	ceph osd stat 2>/dev/null | grep -q '1 up'
}

ceph_start() {
	local n_rgw=${1:-1} fsid osd_uuid mon2 mon1 i port ak sk
	CEPH_DIR=$(mktemp -d /tmp/ceph-test.XXXXXX)
	CEPH_PIDS=
	export CEPH_DIR CEPH_PIDS CEPH_CONF=$CEPH_DIR/ceph.conf
	mkdir -p "$CEPH_DIR"/{mon,osd/ceph-0,run,log}
	fsid=$(uuidgen)
	mon2=$(ceph_free_port)
	mon1=$(ceph_free_port)
	# No authentication inside the cluster (it listens on loopback only and
	# lives for one test file); RGW's own S3 auth is what the tests exercise.
	cat >"$CEPH_CONF" <<-EOF
		[global]
		fsid = $fsid
		mon host = [v2:127.0.0.1:$mon2,v1:127.0.0.1:$mon1]
		public addr = 127.0.0.1
		auth cluster required = none
		auth service required = none
		auth client required = none
		ms mon client mode = crc
		run dir = $CEPH_DIR/run
		admin socket = $CEPH_DIR/run/\$name.asok
		log file = $CEPH_DIR/log/\$name.log
		mon cluster log file = $CEPH_DIR/log/ceph.\$channel.log
		mon data = $CEPH_DIR/mon/\$cluster-\$id
		osd data = $CEPH_DIR/osd/\$cluster-\$id
		osd objectstore = memstore
		memstore device bytes = 2147483648
		osd pool default size = 1
		osd pool default pg num = 8
		mon allow pool size one = true
		mon max pg per osd = 1000
		paxos propose interval = 0.05
	EOF
	S3_ENDPOINT=
	S3_ENDPOINT2=
	for i in $(seq "$n_rgw"); do
		port=$(ceph_free_port)
		printf '[client.rgw.%s]\nrgw frontends = beast endpoint=127.0.0.1:%s tcp_nodelay=1\n' "$i" "$port" >>"$CEPH_CONF"
		if [ "$i" -eq 1 ]; then S3_ENDPOINT=http://127.0.0.1:$port; else S3_ENDPOINT2=http://127.0.0.1:$port; fi
	done
	export S3_ENDPOINT S3_ENDPOINT2 S3_REGION=us-east-1

	monmaptool --create --fsid "$fsid" --addv a "[v2:127.0.0.1:$mon2,v1:127.0.0.1:$mon1]" \
		"$CEPH_DIR/monmap" >/dev/null || return 1
	ceph-mon --mkfs -i a --monmap "$CEPH_DIR/monmap" >>"$CEPH_DIR/log/mkfs.out" 2>&1 || return 1
	ceph_spawn mon.a ceph-mon -f -i a
	ceph_wait 30 ceph mon stat || return 1

	osd_uuid=$(uuidgen)
	ceph osd new "$osd_uuid" >/dev/null || return 1
	ceph-osd -i 0 --mkfs --osd-uuid "$osd_uuid" >>"$CEPH_DIR/log/mkfs.out" 2>&1 || return 1
	ceph_spawn osd.0 ceph-osd -f -i 0
	ceph_wait 60 ceph_osd_up || return 1

	for i in $(seq "$n_rgw"); do
		ceph_spawn "rgw.$i" radosgw -f -n "client.rgw.$i"
	done
	ceph_wait 60 curl -sf "$S3_ENDPOINT/" || return 1
	if [ -n "$S3_ENDPOINT2" ]; then ceph_wait 60 curl -sf "$S3_ENDPOINT2/" || return 1; fi

	# Random keys per cluster: nothing a test knows in advance.
	ak=$(od -An -N10 -tx1 /dev/urandom | tr -d ' \n' | tr a-f A-F)
	sk=$(od -An -N20 -tx1 /dev/urandom | tr -d ' \n')
	radosgw-admin user create --uid=test --display-name=test --access-key="$ak" \
		--secret-key="$sk" >/dev/null 2>>"$CEPH_DIR/log/admin.out" || return 1
	export S3_ACCESS_KEY=$ak S3_SECRET_KEY=$sk S3_BUCKET=test-bucket
	# curl signs the request itself; libcurl 7.88 needs the payload hash
	# header set by hand.
	curl -sf -X PUT --aws-sigv4 "aws:amz:$S3_REGION:s3" --user "$ak:$sk" \
		-H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' "$S3_ENDPOINT/$S3_BUCKET" >/dev/null || {
		echo "ceph: creating bucket $S3_BUCKET at $S3_ENDPOINT failed" >&2
		return 1
	}
}

ceph_stop() {
	local p i
	[ -n "${CEPH_DIR:-}" ] || return 0
	# Gateways first, then the OSD, then the monitor (the reverse of start).
	for p in $(echo "${CEPH_PIDS:-}" | tr ' ' '\n' | tac); do
		kill "$p" 2>/dev/null || continue
		for i in $(seq 50); do
			kill -0 "$p" 2>/dev/null || break
			sleep 0.1
		done
		kill -9 "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	rm -rf "$CEPH_DIR"
	unset CEPH_DIR CEPH_PIDS
}
