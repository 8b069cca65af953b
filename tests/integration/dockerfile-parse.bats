#!/usr/bin/env bats
# `ibuild debug ast`: the BuildKit parser vectors (used in place from
# ../shared/testdata/dockerfile-parser), stdin, --verbose, and error
# messages that name file:line:column.
load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'

VECTORS=${IBUILD_DF_VECTORS:-$BATS_TEST_DIRNAME/../../../shared/testdata/dockerfile-parser}

setup() {
	T=$(mktemp -d "${BATS_TMPDIR:-/tmp}/df-parse.XXXXXX")
}

teardown() {
	rm -rf "$T"
}

@test "every positive vector dumps byte-identical to its result" {
	local n=0 failed=()
	for d in "$VECTORS"/positive/*/; do
		name=$(basename "$d")
		n=$((n + 1))
		if ! ibuild debug ast "$d/Dockerfile" >"$T/out" 2>"$T/err"; then
			failed+=("$name (exit $?: $(cat "$T/err"))")
		elif ! cmp -s "$T/out" "$d/result"; then
			failed+=("$name (dump differs: $(diff "$T/out" "$d/result" | head -3 | tr '\n' ' '))")
		fi
	done
	[ "$n" -gt 20 ] || fail "only $n vectors found under $VECTORS"
	if [ "${#failed[@]}" -gt 0 ]; then
		printf 'failed vector: %s\n' "${failed[@]}"
		return 1
	fi
}

@test "every negative vector fails with an error naming the file" {
	local n=0 failed=()
	for d in "$VECTORS"/negative/*/; do
		n=$((n + 1))
		if ibuild debug ast "$d/Dockerfile" >/dev/null 2>"$T/err"; then
			failed+=("$(basename "$d") parsed")
		elif ! grep -q "$d/Dockerfile\|${d}Dockerfile" "$T/err"; then
			failed+=("$(basename "$d"): error does not name the file: $(cat "$T/err")")
		fi
	done
	[ "$n" -ge 4 ] || fail "only $n negative vectors"
	if [ "${#failed[@]}" -gt 0 ]; then
		printf 'failed vector: %s\n' "${failed[@]}"
		return 1
	fi
}

@test "debug ast reads stdin with -" {
	run ibuild debug ast - <<<$'FROM a\nRUN echo hi \\\n  there'
	assert_success
	assert_output $'(from "a")\n(run "echo hi   there")'
}

@test "unknown instruction: file:line:col and the nearest instruction" {
	printf 'FROM a\n\n  COPPY x y\n' >"$T/Dockerfile"
	run ibuild debug ast "$T/Dockerfile"
	assert_failure 1
	assert_output --partial "$T/Dockerfile:3:3: unknown instruction: COPPY (did you mean COPY?)"
}

@test "unterminated heredoc names its line" {
	printf 'FROM a\nRUN <<EOF\necho hi\n' >"$T/Dockerfile"
	run ibuild debug ast "$T/Dockerfile"
	assert_failure 1
	assert_output --partial "$T/Dockerfile:2:1: unterminated heredoc EOF"
}

@test "--verbose shows heredocs, exec form, flags and directives" {
	printf '# syntax=docker/dockerfile:1\nFROM a\nCOPY --chmod=644 <<-"F" /etc/f\n\tbody $X\n\tF\nCMD ["a"]\n' >"$T/Dockerfile"
	run ibuild debug ast --verbose "$T/Dockerfile"
	assert_success
	assert_line '(copy ["--chmod=644"] "<<-\"F\"" "/etc/f")'
	assert_line '  heredoc F fd=-1 expand=no chomp=yes lines 4-5'
	assert_line 'body $X'
	assert_line '  flag chmod = 644 (line 3 col 6)'
	assert_line 'CMD lines 6-6 col 1 json'
	assert_line --partial 'syntax docker/dockerfile:1 (line 1)'
}

@test "missing file and bad usage" {
	run ibuild debug ast "$T/nope"
	assert_failure 1
	assert_output --partial "$T/nope"
	run ibuild debug ast
	assert_failure 2
	assert_output --partial "Usage: ibuild debug ast"
	run ibuild debug
	assert_failure 2
}
