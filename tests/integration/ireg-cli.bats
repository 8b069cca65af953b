#!/usr/bin/env bats
# ireg's command line: help, flags, config file, bad input.

load ireg-helpers

setup() { ireg_setup; }
teardown() { ireg_teardown; }

@test "help documents every serve and gc flag" {
	run "$IREG" --help
	assert_success
	assert_output --partial serve
	assert_output --partial gc
	run "$IREG" serve --help
	assert_success
	for f in --addr --root --config --tls-cert --tls-key --tls-client-ca --log --no-access-log --threads --drain --timeout --chunk-min-length --port-file; do
		assert_output --partial -- "$f"
	done
	run "$IREG" gc --help
	assert_success
	for f in --root --dry-run --grace --upload-max-age --keep-untagged; do
		assert_output --partial -- "$f"
	done
	run "$IREG" --version
	assert_success
}

@test "bad command lines fail with a clear message" {
	run "$IREG"
	assert_failure 2
	run "$IREG" frobnicate
	assert_failure 2
	assert_output --partial "unknown command 'frobnicate'"
	run "$IREG" serve --bogus
	assert_failure 2
	run "$IREG" serve --addr nocolon --root "$TMP/r"
	assert_failure
	assert_output --partial "address 'nocolon'"
	run "$IREG" serve --addr 127.0.0.1:0 --threads 0 --root "$TMP/r"
	assert_failure
	assert_output --partial -- "--threads"
	# Numbers are whole: trailing junk or a sign is refused, not cut off.
	for a in "--threads 4x" "--drain -1" "--timeout 5s" "--timeout 0" "--timeout +3"; do
		run "$IREG" serve --addr 127.0.0.1:0 --root "$TMP/r" $a
		assert_failure
		assert_output --partial -- "${a%% *}: want"
	done
	printf '{"timeout": "5"}' >"$TMP/badt.json"
	run "$IREG" serve --addr 127.0.0.1:0 --root "$TMP/r" --config "$TMP/badt.json"
	assert_failure
	assert_output --partial "badt.json: timeout"
	printf '{"addr": ' >"$TMP/bad.json"
	run "$IREG" serve --config "$TMP/bad.json"
	assert_failure
	assert_output --partial "bad.json:1"
	printf '{"auth": {"acl": [{"user": 5}]}}' >"$TMP/bad2.json"
	run "$IREG" serve --config "$TMP/bad2.json" --root "$TMP/r"
	assert_failure
	assert_output --partial "bad2.json: auth"
	# A port in use.
	start_ireg "$TMP/root"
	run "$IREG" serve --addr "$REG" --root "$TMP/r2"
	assert_failure
	assert_output --partial "cannot listen on $REG"
}

@test "config file supplies addr, root and log; flags override" {
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	printf '{"addr": "127.0.0.1:%s", "root": "%s", "log": "%s"}' "$port" "$TMP/cfgroot" "$TMP/cfg.log" >"$TMP/c.json"
	"$IREG" serve --config "$TMP/c.json" 2>"$TMP/err" &
	IREG_PIDS+=($!)
	for i in $(seq 100); do curl -s "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.05; done
	run curl -sf "http://127.0.0.1:$port/healthz"
	assert_success
	assert [ -d "$TMP/cfgroot/repos" ]
	grep -q 'path=/healthz' "$TMP/cfg.log"
	# Log lines are structured key=value, with no query strings.
	run curl -s "http://127.0.0.1:$port/v2/_catalog?secret=xyz"
	run grep -c 'secret' "$TMP/cfg.log"
	assert_output 0
	# An escaped newline in the path cannot forge a log line: it is never
	# decoded (the request is a 400), and a decoded blank is a '?'.
	run curl -s "http://127.0.0.1:$port/v2/a%0Atime=forged%20status=200/tags/list"
	run grep -c '^time=forged' "$TMP/cfg.log"
	assert_output 0
	run grep -c 'path=/v2/a%0Atime=forged?status=200/tags/list .*status=400' "$TMP/cfg.log"
	assert_output 1
}
