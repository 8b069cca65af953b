#!/usr/bin/env bats
# registry/s3 against a real Ceph RADOS Gateway (started once for the file
# by ceph-helpers.bash, two gateways over one cluster), driven through
# tests/tools/s3tool: objects byte-identical, ranges, listing pages,
# server-side copy, multipart, the errors a misconfigured or dead store
# gives, presigned URLs fetched by plain curl.

bats_require_minimum_version 1.5.0
load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'
load ceph-helpers

S3TOOL=${IBUILD_TOOLS:-$PWD/build/tools}/s3tool

setup_file() {
	ceph_start 2
	# Fast retries: the dead-endpoint test waits through all of them.
	export IREG_S3_BACKOFF_MS=20
}

teardown_file() {
	ceph_stop
}

setup() {
	TMP=$(mktemp -d /tmp/s3-client-test.XXXXXX)
	unset S3_PREFIX AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
}

teardown() {
	rm -rf "$TMP"
}

sha() { sha256sum "$1" | cut -d' ' -f1; }

@test "s3: the bucket check passes on a good configuration" {
	run "$S3TOOL" check
	assert_success
	assert_output "ok s3://$S3_BUCKET at $S3_ENDPOINT"
}

@test "s3: put and get are byte-identical (0 bytes, small, 20 MiB), HEAD gives the size" {
	: >"$TMP/empty"
	printf 'hello, rgw\n' >"$TMP/small"
	head -c $((20 * 1024 * 1024)) /dev/urandom >"$TMP/big"
	for f in empty small big; do
		run "$S3TOOL" put "$TMP/$f" "objs/$f"
		assert_success
		"$S3TOOL" get "objs/$f" >"$TMP/$f.out"
		cmp "$TMP/$f" "$TMP/$f.out"
		run "$S3TOOL" head "objs/$f"
		assert_success
		assert_output --regexp "^$(stat -c %s "$TMP/$f") [0-9a-f]{32} [0-9]{10}\$"
	done
	# The whole object streamed through the range reader too.
	"$S3TOOL" range objs/big 0 - >"$TMP/big.range"
	cmp "$TMP/big" "$TMP/big.range"
	# A cap below the size is refused, not truncated.
	run -7 "$S3TOOL" get objs/small 5
	assert_output --partial "larger than 5 bytes"
	# The second gateway sees the same objects at once.
	S3_ENDPOINT=$S3_ENDPOINT2 "$S3TOOL" get objs/big >"$TMP/big.2"
	cmp "$TMP/big" "$TMP/big.2"
}

@test "s3: one client used by 8 threads at once (pooled connections)" {
	head -c 300000 /dev/urandom >"$TMP/t"
	run "$S3TOOL" parallel 8 "$TMP/t" threads
	assert_success
	assert_output "ok 8"
	run "$S3TOOL" listall -p threads/
	assert_line "pages 1"
	[ "${#lines[@]}" -eq 9 ]
}

@test "s3: range reads return exactly the bytes asked for" {
	seq 1 100000 >"$TMP/f"
	"$S3TOOL" put "$TMP/f" ranges/f >/dev/null
	size=$(stat -c %s "$TMP/f")
	"$S3TOOL" range ranges/f 1000 5000 >"$TMP/mid"
	tail -c +1001 "$TMP/f" | head -c 5000 | cmp - "$TMP/mid"
	"$S3TOOL" range ranges/f $((size - 7)) - >"$TMP/end"
	tail -c 7 "$TMP/f" | cmp - "$TMP/end"
	"$S3TOOL" range ranges/f $((size - 1)) 1 >"$TMP/last"
	tail -c 1 "$TMP/f" | cmp - "$TMP/last"
	# The object's size comes back with a range.
	run --separate-stderr "$S3TOOL" range ranges/f 0 10
	assert_equal "$stderr" "size $size"
	# Past the end, and a range running over the end: errors, not short data.
	run -6 "$S3TOOL" range ranges/f $((size + 10)) 5
	assert_output --partial "ranges/f"
	run -6 "$S3TOOL" range ranges/f $((size - 2)) 10
	assert_output --partial "ends 2 bytes into the range"
}

@test "s3: listing pages with max-keys, continuation token and start-after" {
	echo x >"$TMP/x"
	for k in k1 k2 k3 k4 k5 k6 k7; do "$S3TOOL" put "$TMP/x" "page/$k" >/dev/null; done
	run "$S3TOOL" list -p page/ -n 2
	assert_success
	assert_line --index 0 "key page/k1 2"
	assert_line --index 1 "key page/k2 2"
	assert_line --index 2 --regexp '^next .+'
	[ "${#lines[@]}" -eq 3 ]
	token=${lines[2]#next }
	run "$S3TOOL" list -p page/ -n 2 -t "$token"
	assert_line --index 0 "key page/k3 2"
	assert_line --index 1 "key page/k4 2"
	# start-after: from the key after k5; the last page has no token.
	run "$S3TOOL" list -p page/ -n 2 -a page/k5
	assert_output "key page/k6 2
key page/k7 2"
	# Every page in turn, two keys a page: 7 keys in 4 pages.
	run "$S3TOOL" listall -p page/ -n 2
	assert_output "key page/k1
key page/k2
key page/k3
key page/k4
key page/k5
key page/k6
key page/k7
pages 4"
}

@test "s3: a delimiter groups keys into common prefixes" {
	echo x >"$TMP/x"
	for k in tree/a tree/d1/b tree/d1/c tree/d2/e; do "$S3TOOL" put "$TMP/x" "$k" >/dev/null; done
	run "$S3TOOL" list -p tree/ -d /
	assert_success
	assert_output "key tree/a 2
prefix tree/d1/
prefix tree/d2/"
}

@test "s3: the client prefix is added to keys and stripped from listings" {
	echo y >"$TMP/y"
	S3_PREFIX=pfx/ "$S3TOOL" put "$TMP/y" inner/z >/dev/null
	run "$S3TOOL" list -p pfx/inner/
	assert_output "key pfx/inner/z 2"
	S3_PREFIX=pfx/ run "$S3TOOL" list -p inner/
	assert_output "key inner/z 2"
	S3_PREFIX=pfx/ run "$S3TOOL" get inner/z
	assert_output "y"
}

@test "s3: keys with spaces, plus, ampersand, equals and UTF-8 survive every operation" {
	key='odd/a b+c&d=e%f~é'
	echo odd >"$TMP/o"
	"$S3TOOL" put "$TMP/o" "$key" >/dev/null
	run "$S3TOOL" get "$key"
	assert_output "odd"
	run "$S3TOOL" list -p 'odd/a b'
	assert_output "key $key 4"
	"$S3TOOL" copy "$key" "odd/copy of é" >/dev/null
	run "$S3TOOL" get "odd/copy of é"
	assert_output "odd"
	run "$S3TOOL" presign "$key" 60
	run curl -sf "$output"
	assert_output "odd"
}

@test "s3: server-side copy is byte-identical; a missing source is not found" {
	head -c 3000000 /dev/urandom >"$TMP/src"
	"$S3TOOL" put "$TMP/src" copy/src >/dev/null
	run "$S3TOOL" copy copy/src copy/dst
	assert_success
	assert_output --regexp '^[0-9a-f]{32}$'
	"$S3TOOL" get copy/dst >"$TMP/dst"
	cmp "$TMP/src" "$TMP/dst"
	run -3 "$S3TOOL" copy copy/nothing copy/dst2
	assert_output --partial "NoSuchKey"
}

@test "s3: multipart upload of 5 MiB + 5 MiB + 1 byte is byte-identical" {
	head -c $((10 * 1024 * 1024 + 1)) /dev/urandom >"$TMP/mp"
	run "$S3TOOL" mpu "$TMP/mp" mpu/whole 5242880
	assert_success
	assert_output "parts 3"
	"$S3TOOL" get mpu/whole >"$TMP/mp.out"
	[ "$(sha "$TMP/mp")" = "$(sha "$TMP/mp.out")" ]
	run "$S3TOOL" head mpu/whole
	assert_output --regexp "^10485761 "
}

@test "s3: multipart step by step: parts listed, a part copied server-side, completed with RGW's empty ETag" {
	head -c $((5 * 1024 * 1024)) /dev/urandom >"$TMP/p1"
	printf 'tail' >"$TMP/p3"
	"$S3TOOL" put "$TMP/p1" mpu/src >/dev/null
	id=$("$S3TOOL" mpu-start mpu/steps)
	e1=$("$S3TOOL" mpu-part mpu/steps "$id" 1 "$TMP/p1")
	# Part 2: the same 5 MiB, copied inside the store.
	e2=$("$S3TOOL" mpu-copy mpu/steps "$id" 2 mpu/src 0 5242880)
	e3=$("$S3TOOL" mpu-part mpu/steps "$id" 3 "$TMP/p3")
	# Another gateway lists the parts of the upload (as another replica
	# finishing it would).
	S3_ENDPOINT=$S3_ENDPOINT2 run "$S3TOOL" mpu-parts mpu/steps "$id"
	assert_output "1 $e1 5242880
2 $e2 5242880
3 $e3 4"
	run "$S3TOOL" mpu-complete mpu/steps "$id" "1:$e1" "2:$e2" "3:$e3"
	assert_success
	assert_output --regexp "^etag '.*'\$"
	cat "$TMP/p1" "$TMP/p1" "$TMP/p3" >"$TMP/want"
	"$S3TOOL" get mpu/steps >"$TMP/got"
	cmp "$TMP/want" "$TMP/got"
}

@test "s3: an aborted multipart upload is gone; a too-small part is refused clearly" {
	printf 'small' >"$TMP/s"
	id=$("$S3TOOL" mpu-start mpu/aborted)
	e1=$("$S3TOOL" mpu-part mpu/aborted "$id" 1 "$TMP/s")
	e2=$("$S3TOOL" mpu-part mpu/aborted "$id" 2 "$TMP/s")
	# Part 1 under 5 MiB is not the last: EntityTooSmall.
	run "$S3TOOL" mpu-complete mpu/aborted "$id" "1:$e1" "2:$e2"
	assert_failure 1
	assert_output --partial "EntityTooSmall"
	run "$S3TOOL" mpu-abort mpu/aborted "$id"
	assert_success
	# (RGW says NoSuchKey here, AWS NoSuchUpload: both are not-found.)
	run -3 "$S3TOOL" mpu-parts mpu/aborted "$id"
	assert_output --partial "ListParts of 'mpu/aborted'"
	assert_output --partial "HTTP 404"
	run -3 "$S3TOOL" get mpu/aborted
}

@test "s3: after delete, get is a not-found error naming the key, bucket and endpoint" {
	echo gone >"$TMP/g"
	"$S3TOOL" put "$TMP/g" del/me >/dev/null
	run "$S3TOOL" delete del/me
	assert_success
	run -3 "$S3TOOL" get del/me
	assert_output "s3tool: S3 GetObject of 'del/me' in bucket '$S3_BUCKET' at $S3_ENDPOINT: HTTP 404 NoSuchKey"
	run -3 "$S3TOOL" head del/me
	assert_output --partial "HTTP 404"
	# Deleting what is not there is fine (S3's rule).
	run "$S3TOOL" delete del/me
	assert_success
}

@test "s3: a bad secret is access denied, naming endpoint and bucket, never the secret" {
	bad=not-the-secret-$RANDOM
	S3_SECRET_KEY=$bad run -4 "$S3TOOL" check
	assert_output --partial "bucket '$S3_BUCKET' at $S3_ENDPOINT"
	assert_output --partial "access denied"
	S3_SECRET_KEY=$bad run -4 "$S3TOOL" get objs/small
	assert_output --partial "SignatureDoesNotMatch"
	assert_output --partial "access denied"
	refute_output --partial "$bad"
	S3_ACCESS_KEY=NOSUCHKEY run -4 "$S3TOOL" list
	assert_output --partial "InvalidAccessKeyId"
	refute_output --partial "$S3_SECRET_KEY"
	# Credentials from the environment's AWS variables.
	AWS_ACCESS_KEY_ID=$S3_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$S3_SECRET_KEY S3_ACCESS_KEY= S3_SECRET_KEY= \
		run "$S3TOOL" check
	assert_success
}

@test "s3: a missing bucket is one clear error naming it and the endpoint" {
	S3_BUCKET=no-such-bucket run -5 "$S3TOOL" check
	assert_output "s3tool: S3 HeadBucket of bucket 'no-such-bucket' at $S3_ENDPOINT: HTTP 404: the bucket does not exist"
	S3_BUCKET=no-such-bucket run -5 "$S3TOOL" get k
	assert_output --partial "NoSuchBucket"
}

@test "s3: a dead endpoint fails after the retries, naming the endpoint" {
	port=$("$CEPH_PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	S3_ENDPOINT=http://127.0.0.1:$port run -1 "$S3TOOL" check
	assert_output --partial "bucket '$S3_BUCKET' at http://127.0.0.1:$port"
	assert_output --partial "after 4 tries"
	IREG_S3_TRIES=2 S3_ENDPOINT=http://127.0.0.1:$port run -1 "$S3TOOL" get k
	assert_output --partial "after 2 tries"
}

@test "s3: a presigned URL is fetched by plain curl; a tampered or expired one is refused" {
	head -c 100000 /dev/urandom >"$TMP/p"
	"$S3TOOL" put "$TMP/p" pre/blob >/dev/null
	url=$("$S3TOOL" presign pre/blob 300)
	[[ $url == "$S3_ENDPOINT/$S3_BUCKET/pre/blob?X-Amz-Algorithm=AWS4-HMAC-SHA256&"* ]]
	curl -sf -o "$TMP/p.out" "$url"
	cmp "$TMP/p" "$TMP/p.out"
	# Range through the presigned URL (what a redirected client may send).
	curl -sf -r 10-19 -o "$TMP/p.r" "$url"
	tail -c +11 "$TMP/p" | head -c 10 | cmp - "$TMP/p.r"
	# Another key with the same signature: refused.
	run curl -s -o /dev/null -w '%{http_code}' "${url/pre\/blob/pre\/other}"
	assert_output 403
	short=$("$S3TOOL" presign pre/blob 1)
	sleep 2
	run curl -s -o /dev/null -w '%{http_code}' "$short"
	assert_output 403
}
