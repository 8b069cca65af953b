# Shared helpers for the ireg-*.bats integration tests.
load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'

IREG=${IBUILD_BUILD:-$PWD/build}/bin/ireg

ireg_setup() {
	TMP=$(mktemp -d /tmp/ireg-test.XXXXXX)
	IREG_PIDS=()
}

ireg_teardown() {
	local p
	for p in "${IREG_PIDS[@]}"; do
		kill -9 "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	rm -rf "$TMP"
}

# start_ireg ROOT [ARGS...]: start a server on a free loopback port; sets
# PORT, REG (host:port), URL (http://host:port) and IREG_PID.  On the
# driver IREG_DRIVER names (ireg_driver_args).
start_ireg() {
	local root=$1
	shift
	rm -f "$TMP/port"
	ireg_driver_args "$root" "$@"
	"$IREG" serve --addr 127.0.0.1:0 --root "$root" --port-file "$TMP/port" --log "$TMP/ireg.log" \
		"${IREG_ARGS[@]}" 2>>"$TMP/ireg.err" &
	IREG_PID=$!
	IREG_PIDS+=("$IREG_PID")
	wait_ireg_port
}

# wait_ireg_port: wait for the server IREG_PID to write $TMP/port; sets
# PORT, REG and URL (fails with its stderr when it died first).
wait_ireg_port() {
	local i
	for i in $(seq 100); do
		[ -s "$TMP/port" ] && break
		kill -0 "$IREG_PID" 2>/dev/null || { cat "$TMP/ireg.err" >&2; return 1; }
		sleep 0.05
	done
	PORT=$(cat "$TMP/port")
	REG=127.0.0.1:$PORT
	URL=http://$REG
}

# manifest_for CONFIG_DIGEST CONFIG_SIZE LAYER_DIGEST LAYER_SIZE: an OCI image
# manifest with one layer, compact, on stdout.
manifest_for() { # CONFIG_DIGEST CONFIG_SIZE LAYER_DIGEST LAYER_SIZE
	jq -cn --arg c "$1" --argjson cs "$2" --arg l "$3" --argjson ls "$4" '{schemaVersion:2,
		mediaType:"application/vnd.oci.image.manifest.v1+json",
		config:{mediaType:"application/vnd.oci.image.config.v1+json",digest:$c,size:$cs},
		layers:[{mediaType:"application/vnd.oci.image.layer.v1.tar",digest:$l,size:$ls}]}' | tr -d '\n'
}


# start_ireg_mount_acl ROOT: start_ireg with htpasswd auth for the mount
# tests: alice may do anything; carol may push/pull carol/** and pull team/**.
start_ireg_mount_acl() {
	htpasswd -Bbc "$TMP/htpasswd" alice alicepw 2>/dev/null
	htpasswd -Bb "$TMP/htpasswd" carol carolpw 2>/dev/null
	cat >"$TMP/config.json" <<-JSON
	{ "auth": { "htpasswd": "$TMP/htpasswd", "realm": "r", "acl": [
	    {"user":"alice","repos":"**","actions":["*"]},
	    {"user":"carol","repos":"carol/**","actions":["pull","push"]},
	    {"user":"carol","repos":"team/**","actions":["pull"]} ] } }
	JSON
	start_ireg "$1" --config "$TMP/config.json"
}

stop_ireg() {
	kill -TERM "$IREG_PID"
	wait "$IREG_PID"
}

# make_image LAYOUT TAG SIZE_KB: an OCI layout with one random layer.
make_image() {
	local lay=$1 tag=$2 kb=$3 src
	src=$(mktemp -d "$TMP/src.XXXXXX")
	mkdir -p "$src/etc"
	echo "$tag" >"$src/etc/hello"
	head -c $((kb * 1024)) /dev/urandom >"$src/data"
	[ -d "$lay" ] || umoci init --layout "$lay" >/dev/null
	umoci new --image "$lay:$tag" >/dev/null
	umoci insert --image "$lay:$tag" "$src" / >/dev/null
}

sha() { sha256sum "$1" | cut -d' ' -f1; }

# curl wrappers: status code only / headers+body into files.
http_code() { curl -s -o "$TMP/body" -D "$TMP/headers" -w '%{http_code}' "$@"; }
header() { grep -i "^$1:" "$TMP/headers" | head -1 | cut -d' ' -f2- | tr -d '\r'; }
err_code() { jq -r '.errors[0].code' "$TMP/body"; }

# push_blob REPO FILE: monolithic upload, prints the digest.
push_blob() {
	local d
	d=sha256:$(sha "$2")
	curl -sf -X POST -H 'Content-Type: application/octet-stream' --data-binary @"$2" \
		"$URL/v2/$1/blobs/uploads/?digest=$d" >/dev/null || return 1
	echo "$d"
}

# ---- the storage driver (IREG_DRIVER=s3: on the Ceph bucket of ceph-helpers) ----

# ireg_s3_json PREFIX [ENDPOINT]: the "storage" settings of a replica on
# the test bucket under PREFIX, on stdout.
ireg_s3_json() {
	jq -cn --arg e "${2:-$S3_ENDPOINT}" --arg b "$S3_BUCKET" --arg p "$1" --arg r "$S3_REGION" \
		--arg ak "$S3_ACCESS_KEY" --arg sk "$S3_SECRET_KEY" \
		'{storage:{s3:{endpoint:$e,region:$r,bucket:$b,prefix:$p,access_key:$ak,secret_key:$sk}}}'
}

# ireg_driver_args ROOT ARGS...: ARGS for `ireg serve` on the driver
# IREG_DRIVER names (fs, the default: unchanged).  With s3 the storage goes
# to the bucket under a prefix unique to this test and ROOT, merged into
# the test's own --config when it has one; sets IREG_ARGS.
ireg_driver_args() {
	local root=$1 cfg="" a prefix out
	shift
	IREG_ARGS=("$@")
	[ "${IREG_DRIVER:-fs}" = s3 ] || return 0
	IREG_ARGS=()
	while [ $# -gt 0 ]; do
		if [ "$1" = --config ]; then cfg=$2; shift 2; continue; fi
		IREG_ARGS+=("$1")
		shift
	done
	: "${IREG_S3_RUN:=run-$$-$RANDOM}"
	prefix="$IREG_S3_RUN/t${BATS_TEST_NUMBER:-0}/$(echo "$root" | tr -c 'a-zA-Z0-9\n' _)/"
	out=$(mktemp "$TMP/s3conf.XXXXXX")
	ireg_s3_json "$prefix" >"$out.s3"
	if [ -n "$cfg" ]; then jq -s '.[0] * .[1]' "$cfg" "$out.s3" >"$out"; else cp "$out.s3" "$out"; fi
	IREG_ARGS+=(--config "$out")
}
