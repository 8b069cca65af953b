# Shared helpers for the client-*.bats tests (ipush/ipull against ireg and
# CNCF distribution on loopback).
load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'

BIN=${IBUILD_BUILD:-$PWD/build}/bin
IPUSH=$BIN/ipush
IPULL=$BIN/ipull
IREG_BIN=$BIN/ireg
# Fast retries in tests.
export IBUILD_CLIENT_BACKOFF_MS=50

client_setup() {
	TMP=$(mktemp -d /tmp/client-test.XXXXXX)
	PIDS=()
	export IBUILD_STORE=$TMP/store
	# No user credentials leak in from the machine.
	export HOME=$TMP/home DOCKER_CONFIG=$TMP/home/.docker XDG_RUNTIME_DIR=$TMP/run XDG_CONFIG_HOME=$TMP/home/.config
	unset REGISTRY_AUTH_FILE
	mkdir -p "$HOME" "$XDG_RUNTIME_DIR"
}

client_teardown() {
	local p
	for p in "${PIDS[@]}"; do
		kill -9 "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	rm -rf "$TMP"
}

# Debian's python3 starts much faster than a pyenv shim.
PY=$(command -v /usr/bin/python3 || command -v python3)

free_port() {
	"$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_http() { # URL PID [CURL ARGS]
	local url=$1 pid=$2 i
	shift 2
	for i in $(seq 100); do
		curl -s -o /dev/null "$@" "$url" && return 0
		kill -0 "$pid" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}

# start_ireg [ARGS...]: ireg on a free port; sets IREG (host:port), IREG_PID.
start_ireg() {
	local root=$TMP/ireg-root.$RANDOM
	rm -f "$TMP/ireg.port"
	"$IREG_BIN" serve --addr 127.0.0.1:0 --root "$root" --port-file "$TMP/ireg.port" --log "$TMP/ireg.log" "$@" \
		2>>"$TMP/ireg.err" &
	IREG_PID=$!
	PIDS+=("$IREG_PID")
	local i
	for i in $(seq 100); do
		[ -s "$TMP/ireg.port" ] && break
		kill -0 "$IREG_PID" 2>/dev/null || { cat "$TMP/ireg.err" >&2; return 1; }
		sleep 0.05
	done
	IREG=127.0.0.1:$(cat "$TMP/ireg.port")
}

# start_dist [EXTRA_YAML_FILE]: CNCF distribution; sets DIST (host:port), DIST_PID.
start_dist() {
	local port
	port=$(free_port)
	cat >"$TMP/dist.yml" <<-YML
		version: 0.1
		log:
		  level: error
		storage:
		  filesystem:
		    rootdirectory: $TMP/dist-root.$port
		  delete:
		    enabled: true
		http:
		  addr: 127.0.0.1:$port
	YML
	[ -n "${1:-}" ] && cat "$1" >>"$TMP/dist.yml"
	docker-registry serve "$TMP/dist.yml" >"$TMP/dist.log" 2>&1 &
	DIST_PID=$!
	PIDS+=("$DIST_PID")
	DIST=127.0.0.1:$port
	local scheme=http
	grep -q 'tls:' "$TMP/dist.yml" && scheme=https
	wait_http "$scheme://$DIST/v2/" "$DIST_PID" -k || { cat "$TMP/dist.log" >&2; return 1; }
}

# make_image LAYOUT TAG SIZE_KB: one random layer (umoci).
make_image() {
	local lay=$1 tag=$2 kb=$3 src
	src=$(mktemp -d "$TMP/src.XXXXXX")
	mkdir -p "$src/etc"
	echo "$tag" >"$src/etc/hello"
	head -c $((kb * 1024)) /dev/urandom >"$src/data"
	[ -d "$lay" ] || umoci init --layout "$lay" >/dev/null
	umoci new --image "$lay:$tag" >/dev/null
	umoci config --image "$lay:$tag" --config.env "IMAGE=$tag" --config.cmd /bin/sh >/dev/null
	umoci insert --image "$lay:$tag" "$src" / >/dev/null
}

sha() { sha256sum "$1" | cut -d' ' -f1; }

# digest_of LAYOUT NAME
digest_of() {
	jq -r --arg n "$2" '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"]==$n) | .digest' "$1/index.json"
}

# make_index LAYOUT NAME A B: an OCI index over images A (linux/amd64) and B
# (linux/arm64) of LAYOUT, named NAME; prints its digest.
make_index() {
	local lay=$1 name=$2 da db d
	da=$(jq -c --arg n "$3" '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"]==$n)' "$lay/index.json")
	db=$(jq -c --arg n "$4" '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"]==$n)' "$lay/index.json")
	jq -n --argjson a "$da" --argjson b "$db" '{schemaVersion:2, mediaType:"application/vnd.oci.image.index.v1+json",
		manifests:[($a|del(.annotations)+{platform:{os:"linux",architecture:"amd64"}}),
		           ($b|del(.annotations)+{platform:{os:"linux",architecture:"arm64"}})]}' | tr -d '\n' >"$TMP/idx"
	d=$(sha "$TMP/idx")
	cp "$TMP/idx" "$lay/blobs/sha256/$d"
	jq --arg d "sha256:$d" --arg s "$(stat -c %s "$TMP/idx")" --arg n "$name" \
		'.manifests += [{mediaType:"application/vnd.oci.image.index.v1+json", digest:$d, size:($s|tonumber), annotations:{"org.opencontainers.image.ref.name":$n}}]' \
		"$lay/index.json" >"$TMP/i2" && mv "$TMP/i2" "$lay/index.json"
	echo "sha256:$d"
}

# raw_digest REF [SKOPEO ARGS]: sha256 of the manifest skopeo fetches.
raw_digest() {
	local ref=$1
	shift
	skopeo inspect --tls-verify=false "$@" --raw "docker://$ref" >"$TMP/raw.json" || return 1
	echo "sha256:$(sha "$TMP/raw.json")"
}

# No partial files anywhere under DIR's blobs.
no_partials() {
	[ -z "$(find "$1/blobs" -name '.tmp-*' 2>/dev/null)" ]
}
