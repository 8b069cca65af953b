#!/usr/bin/env bats
# Blob downloads: sendfile from the sender threads for large bodies over
# plain TCP, the read-callback path for small ones, and what happens when a
# client stalls, goes away, or the server is stopped mid-download.

load ireg-helpers

setup() { ireg_setup; }
teardown() {
	[ -z "${STRACE_PID:-}" ] || { kill "$STRACE_PID" 2>/dev/null; wait "$STRACE_PID" 2>/dev/null || true; }
	ireg_teardown
}

# The server's thread ids named ireg-send, one per line.
sender_tids() {
	local f
	for f in /proc/"$IREG_PID"/task/*/comm; do
		[ "$(cat "$f")" = ireg-send ] && basename "$(dirname "$f")"
	done
}

# Bytes the sender threads passed to sendfile, from the strace log.
sendfile_bytes() {
	local tids
	tids=$(sender_tids | paste -sd'|')
	grep -E "^($tids) +sendfile\(" "$TMP/strace" | sed -n 's/.*) = \([0-9]*\)$/\1/p' |
		awk '{s += $1} END {print s + 0}'
}

open_fds() { ls /proc/"$IREG_PID"/fd | wc -l; }

# wait_for CMD...: up to 10 s for CMD to succeed.
wait_for() {
	local i
	for i in $(seq 100); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}

@test "a large blob goes out with sendfile and Connection: close; small blobs and ranges are exact" {
	start_ireg "$TMP/root"
	head -c $((8 * 1024 * 1024 + 123)) /dev/urandom >"$TMP/big"
	head -c 4000 /dev/urandom >"$TMP/small"
	big=$(push_blob dl/app "$TMP/big")
	small=$(push_blob dl/app "$TMP/small")
	[ "$(sender_tids | wc -l)" -ge 1 ]
	strace -f -e trace=sendfile -o "$TMP/strace" -p "$IREG_PID" 2>"$TMP/strace.err" &
	STRACE_PID=$!
	wait_for grep -q attached "$TMP/strace.err"

	run http_code "$URL/v2/dl/app/blobs/$big"
	assert_output 200
	assert_equal "$(sha "$TMP/body")" "${big#sha256:}"
	assert_equal "$(header Connection)" close
	assert_equal "$(header Content-Length)" $((8 * 1024 * 1024 + 123))
	wait_for test "$(sendfile_bytes)" -eq $((8 * 1024 * 1024 + 123))

	# A range from the middle: 206 and exactly those bytes, also by sendfile.
	run http_code -H 'Range: bytes=1000-5000999' "$URL/v2/dl/app/blobs/$big"
	assert_output 206
	assert_equal "$(header Content-Range)" "bytes 1000-5000999/$((8 * 1024 * 1024 + 123))"
	assert_equal "$(sha "$TMP/body")" "$(tail -c +1001 "$TMP/big" | head -c 5000000 | sha256sum | cut -d' ' -f1)"
	wait_for test "$(sendfile_bytes)" -eq $((8 * 1024 * 1024 + 123 + 5000000))

	# Small blob and HEAD: the read-callback path, connection kept.
	run http_code "$URL/v2/dl/app/blobs/$small"
	assert_output 200
	assert_equal "$(sha "$TMP/body")" "${small#sha256:}"
	assert_equal "$(header Connection)" ""
	run http_code -I "$URL/v2/dl/app/blobs/$big"
	assert_output 200
	assert_equal "$(header Content-Length)" $((8 * 1024 * 1024 + 123))
	sleep 0.3
	assert_equal "$(sendfile_bytes)" $((8 * 1024 * 1024 + 123 + 5000000))

	# Two big downloads on one curl command line: the second comes over a
	# new connection and is intact too.
	run curl -sf -o "$TMP/a" "$URL/v2/dl/app/blobs/$big" -o "$TMP/b" "$URL/v2/dl/app/blobs/$big"
	assert_success
	assert_equal "$(sha "$TMP/a")" "${big#sha256:}"
	assert_equal "$(sha "$TMP/b")" "${big#sha256:}"
}

@test "a stalled reader does not hold up others and is dropped after --timeout; fds are released" {
	start_ireg "$TMP/root" --timeout 2 --threads 1
	head -c $((64 * 1024 * 1024)) /dev/urandom >"$TMP/big"
	big=$(push_blob dl/app "$TMP/big")
	fds=$(open_fds)
	# Asks for the blob, reads 1 byte of body, stops reading for 5 s, then
	# drains: prints how many body bytes it got before the server closed.
	python3 - "$PORT" "/v2/dl/app/blobs/$big" >"$TMP/stalled" <<-'PY' &
	import socket, sys, time
	s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
	s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
	s.sendall(b"GET " + sys.argv[2].encode() + b" HTTP/1.1\r\nHost: x\r\n\r\n")
	buf = b""
	while b"\r\n\r\n" not in buf:
	    buf += s.recv(4096)
	body = len(buf.split(b"\r\n\r\n", 1)[1])
	time.sleep(5)
	while True:
	    try:
	        d = s.recv(1 << 20)
	    except ConnectionResetError:
	        break
	    if not d:
	        break
	    body += len(d)
	print(body)
	PY
	stalled=$!
	sleep 0.5
	# Meanwhile the same blob downloads in full and the API answers.
	run curl -sf --max-time 10 -o "$TMP/full" "$URL/v2/dl/app/blobs/$big"
	assert_success
	assert_equal "$(sha "$TMP/full")" "${big#sha256:}"
	run curl -sf --max-time 2 "$URL/v2/"
	assert_success
	wait "$stalled"
	[ "$(cat "$TMP/stalled")" -lt $((64 * 1024 * 1024)) ]
	wait_for test "$(open_fds)" -le "$fds"
	# The log says what was sent, not the blob's size.
	sent=$(grep "path=/v2/dl/app/blobs/$big" "$TMP/ireg.log" | sed -n 's/.* bytes_out=\([0-9]*\) .*/\1/p' | sort -n | head -1)
	[ "$sent" -lt $((64 * 1024 * 1024)) ]
}

@test "a client that goes away mid-download: its transfer ends, fds are released, serving goes on" {
	start_ireg "$TMP/root"
	head -c $((32 * 1024 * 1024)) /dev/urandom >"$TMP/big"
	big=$(push_blob dl/app "$TMP/big")
	fds=$(open_fds)
	run curl -s --limit-rate 4M --max-time 1 -o /dev/null "$URL/v2/dl/app/blobs/$big"
	assert_equal "$status" 28
	wait_for test "$(open_fds)" -le "$fds"
	run curl -sf -o "$TMP/full" "$URL/v2/dl/app/blobs/$big"
	assert_success
	assert_equal "$(sha "$TMP/full")" "${big#sha256:}"
}

@test "SIGTERM mid-download: finished within --drain, or cut off after it, and the server exits" {
	start_ireg "$TMP/root" --drain 20
	head -c $((16 * 1024 * 1024)) /dev/urandom >"$TMP/big"
	big=$(push_blob dl/app "$TMP/big")
	curl -sf --limit-rate 8M -o "$TMP/got" "$URL/v2/dl/app/blobs/$big" &
	c=$!
	sleep 0.5
	kill -TERM "$IREG_PID"
	wait "$c"
	assert_equal "$(sha "$TMP/got")" "${big#sha256:}"
	wait "$IREG_PID"

	# A drain too short for the download: the server still exits, promptly,
	# and the client sees a cut-off body, not a complete one.
	start_ireg "$TMP/root" --drain 1
	curl -s --limit-rate 2M -o "$TMP/got2" "$URL/v2/dl/app/blobs/$big" &
	c=$!
	sleep 0.5
	t0=$(date +%s)
	kill -TERM "$IREG_PID"
	wait "$IREG_PID"
	[ $(($(date +%s) - t0)) -le 5 ]
	run wait "$c"
	assert_failure
	[ "$(stat -c %s "$TMP/got2")" -lt $((16 * 1024 * 1024)) ]
}

# header_of NAME: that header's value from a response head on stdin.
header_of() { grep -i "^$1:" | head -1 | cut -d' ' -f2- | tr -d '\r'; }
# qs URL: URL followed by the right separator for one more query parameter.
qs() { case $1 in *\?*) echo "$1&" ;; *) echo "$1?" ;; esac; }
hwm_kib() { awk '/^VmHWM/ {print $2}' /proc/"$IREG_PID"/status; }

@test "server memory stays flat over 128 MiB uploads (monolithic, chunked, streamed) and downloads" {
	# A small ASan quarantine, so a sanitizer build measures the same thing.
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=4 start_ireg "$TMP/root"
	head -c $((1024 * 1024)) /dev/urandom >"$TMP/warm"
	warm=$(push_blob mem/app "$TMP/warm")
	curl -sf -o /dev/null "$URL/v2/mem/app/blobs/$warm"
	base=$(hwm_kib)
	head -c $((128 * 1024 * 1024)) /dev/urandom >"$TMP/big"
	d=sha256:$(sha "$TMP/big")

	# Monolithic PUT, streamed from the file.
	loc=$(curl -sf -X POST -D - -o /dev/null "$URL/v2/mem/a/blobs/uploads/" | header_of Location)
	curl -sf -X PUT -H 'Expect:' -T "$TMP/big" -o /dev/null "$(qs "$URL$loc")digest=$d"
	# Four 32 MiB PATCH chunks with Content-Range.
	loc=$(curl -sf -X POST -D - -o /dev/null "$URL/v2/mem/b/blobs/uploads/" | header_of Location)
	for i in 0 1 2 3; do
		s=$((i * 32 * 1024 * 1024))
		loc=$(dd if="$TMP/big" bs=32M skip=$i count=1 status=none |
			curl -sf -X PATCH -H 'Expect:' -H "Content-Range: $s-$((s + 32 * 1024 * 1024 - 1))" \
				--data-binary @- -D - -o /dev/null "$URL$loc" | header_of Location)
	done
	curl -sf -X PUT -o /dev/null "$(qs "$URL$loc")digest=$d"
	# One PATCH with chunked transfer encoding (no length known up front).
	loc=$(curl -sf -X POST -D - -o /dev/null "$URL/v2/mem/c/blobs/uploads/" | header_of Location)
	loc=$(cat "$TMP/big" | curl -sf -X PATCH -H 'Transfer-Encoding: chunked' -H 'Expect:' \
		--data-binary @- -D - -o /dev/null "$URL$loc" | header_of Location)
	curl -sf -X PUT -o /dev/null "$(qs "$URL$loc")digest=$d"
	for r in a b c; do
		assert_equal "$(curl -sf "$URL/v2/mem/$r/blobs/$d" | sha256sum | cut -d' ' -f1)" "${d#sha256:}"
	done
	run curl -sf -H 'Range: bytes=1-' -o /dev/null -w '%{size_download}' "$URL/v2/mem/a/blobs/$d"
	assert_output $((128 * 1024 * 1024 - 1))
	# Peak RSS grew by less than 16 MiB over all of it (a buffered body would be 128).
	[ $(($(hwm_kib) - base)) -lt $((16 * 1024)) ]
}
