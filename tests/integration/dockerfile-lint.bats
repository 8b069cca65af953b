#!/usr/bin/env bats
# `ibuild --check`: text and JSON output, --check-skip, --check-error, the
# `# check=` directive, exit codes (0 findings, 1 with error mode, 2 parse
# or usage errors).
load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'

setup() {
	T=$(mktemp -d "${BATS_TMPDIR:-/tmp}/df-lint.XXXXXX")
	cat >"$T/Dockerfile" <<-'DF'
	FROM ubuntu
	MAINTAINER someone
	RUN apt-get update && apt-get install -y curl
	CMD serve
	DF
}

teardown() {
	rm -rf "$T"
}

@test "text findings: FILE:LINE: NAME: message, exit 0" {
	run ibuild --check -f "$T/Dockerfile"
	assert_success
	assert_line --partial "$T/Dockerfile:1: UnpinnedBaseImage: base image ubuntu has no tag"
	assert_line --partial "$T/Dockerfile:1: RunAsRoot: "
	assert_line --partial "$T/Dockerfile:2: MaintainerDeprecated: "
	assert_line --partial "$T/Dockerfile:3: AptGetNoInstallRecommends: "
	assert_line --partial "$T/Dockerfile:3: AptGetListsNotCleaned: "
	assert_line --partial "$T/Dockerfile:4: JSONArgsRecommended: "
	[ "${#lines[@]}" -eq 6 ]
}

@test "the Dockerfile is found in CONTEXT" {
	cd "$T"
	run ibuild --check .
	assert_success
	assert_line --partial "./Dockerfile:2: MaintainerDeprecated"
	run ibuild --check
	assert_success
	assert_line --partial "./Dockerfile:2: MaintainerDeprecated"
}

@test "json findings parse and carry rule, line, file, message, severity" {
	run ibuild --check --format json -f "$T/Dockerfile"
	assert_success
	echo "$output" >"$T/out.json"
	[ "$(jq length "$T/out.json")" -eq 6 ]
	[ "$(jq -r '.[0].rule' "$T/out.json")" = UnpinnedBaseImage ] || [ "$(jq -r '.[0].rule' "$T/out.json")" = RunAsRoot ]
	[ "$(jq -r '[.[] | select(.rule == "MaintainerDeprecated")][0].line' "$T/out.json")" -eq 2 ]
	[ "$(jq -r '.[0].file' "$T/out.json")" = "$T/Dockerfile" ]
	[ "$(jq -r '[.[].severity] | unique | join(",")' "$T/out.json")" = warning ]
	jq -e 'all(.[]; (.message | length) > 10)' "$T/out.json"
}

@test "--check-skip removes checks (repeatable, comma lists)" {
	run ibuild --check -f "$T/Dockerfile" --check-skip MaintainerDeprecated --check-skip=RunAsRoot,JSONArgsRecommended
	assert_success
	refute_output --partial MaintainerDeprecated
	refute_output --partial RunAsRoot
	refute_output --partial JSONArgsRecommended
	assert_output --partial UnpinnedBaseImage
	run ibuild --check -f "$T/Dockerfile" --check-skip all
	assert_success
	assert_output ""
	run ibuild --check -f "$T/Dockerfile" --check-skip NoSuchCheck
	assert_failure 2
	assert_output --partial "unknown check NoSuchCheck"
}

@test "--check-error fails the run on findings, not on a clean file" {
	run ibuild --check --check-error -f "$T/Dockerfile" --format json
	assert_failure 1
	[ "$(echo "$output" | jq -r '.[0].severity')" = error ]
	cat >"$T/clean" <<-'DF'
	FROM debian:12
	RUN apt-get update && apt-get install -y --no-install-recommends curl && rm -rf /var/lib/apt/lists/*
	USER nobody
	CMD ["curl", "--version"]
	DF
	run ibuild --check --check-error -f "$T/clean"
	assert_success
	assert_output ""
}

@test "the check directive skips checks and turns on error mode" {
	{ echo '# check=skip=UnpinnedBaseImage,RunAsRoot;error=true'; cat "$T/Dockerfile"; } >"$T/d2"
	run ibuild --check -f "$T/d2"
	assert_failure 1
	refute_output --partial UnpinnedBaseImage
	assert_line --partial "$T/d2:3: MaintainerDeprecated"
}

@test "parse and validation errors exit 2 with file:line:col" {
	printf 'FROM a\nRUNN x\n' >"$T/bad"
	run ibuild --check -f "$T/bad"
	assert_failure 2
	assert_output --partial "$T/bad:2:1: unknown instruction: RUNN (did you mean RUN?)"
	printf 'FROM a\nCOPY --form=x a b\n' >"$T/bad2"
	run ibuild --check -f "$T/bad2"
	assert_failure 2
	assert_output --partial "$T/bad2:2:6: unknown flag --form for COPY (did you mean --from?"
	run ibuild --check -f "$T/missing"
	assert_failure 2
	assert_output --partial "$T/missing"
}

@test "usage errors exit 2; --help lists every check" {
	run ibuild --check --bogus
	assert_failure 2
	run ibuild --check --format xml -f "$T/Dockerfile"
	assert_failure 2
	assert_output --partial "--format must be text or json"
	run ibuild --check --help
	assert_success
	for c in UnpinnedBaseImage RunAsRoot AddInsteadOfCopy SecretsUsedInArgOrEnv AptGetNoInstallRecommends \
		AptGetListsNotCleaned MaintainerDeprecated JSONArgsRecommended DuplicateStageName UndefinedVar \
		ExposePrivilegedPort NoEmptyContinuation JSONArgsInvalid; do
		assert_output --partial "$c"
	done
}
