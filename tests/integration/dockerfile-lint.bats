#!/usr/bin/env bats
# `ibuild --check`: text, JSON and SARIF output, --check-skip,
# --check-error, --check-experimental, the `# check=` directive, base images
# read from an OCI layout or the local store (never pulled), exit codes (0
# findings, 1 with error mode, 2 parse or usage errors).
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
	assert_line --partial "$T/Dockerfile:3: AptGetInstallUnpinned: "
	assert_line --partial "$T/Dockerfile:4: JSONArgsRecommended: "
	[ "${#lines[@]}" -eq 7 ]
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
	[ "$(jq length "$T/out.json")" -eq 7 ]
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
	RUN apt-get update && apt-get install -y --no-install-recommends curl=7.88.1-10 && rm -rf /var/lib/apt/lists/*
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
	assert_output --partial "--format must be text, json or sarif"
	run ibuild --check --help
	assert_success
	for c in UnpinnedBaseImage RunAsRoot AddInsteadOfCopy SecretsUsedInArgOrEnv AptGetNoInstallRecommends \
		AptGetListsNotCleaned MaintainerDeprecated JSONArgsRecommended DuplicateStageName UndefinedVar \
		ExposePrivilegedPort NoEmptyContinuation JSONArgsInvalid StageNameCasing FromAsCasing \
		ConsistentInstructionCasing ReservedStageName UndefinedArgInFrom WorkdirRelativePath \
		MultipleInstructionsDisallowed LegacyKeyValueFormat InvalidBaseImagePlatform RedundantTargetPlatform \
		InvalidDefaultArgInFrom FromPlatformFlagConstDisallowed CopyIgnoredFile InvalidDefinitionDescription \
		ExposeProtoCasing ExposeInvalidFormat AptGetInstallUnpinned ApkAddUnpinned PipInstallUnpinned \
		NpmInstallUnpinned InstallWithoutYes ApkAddWithoutNoCache PipInstallWithoutNoCacheDir \
		YumDnfCacheNotCleaned CdInsteadOfWorkdir SudoInRun CopyRelativeDestination ConsecutiveRunInstructions; do
		assert_output --partial "$c"
	done
	assert_output --partial "DL3059"
	assert_output --partial "[BuildKit]"
}

@test "json output parses with python3 and carries rule, line, file, message, severity, url" {
	run ibuild --check --format json -f "$T/Dockerfile"
	assert_success
	echo "$output" >"$T/out.json"
	python3 -m json.tool "$T/out.json" >/dev/null
	python3 - "$T/out.json" "$T/Dockerfile" <<-'PY'
	import json, sys
	out = json.load(open(sys.argv[1]))
	assert isinstance(out, list) and len(out) == 7, out
	for f in out:
	    assert set(f) >= {"rule", "line", "file", "message", "severity"}, f
	    assert f["file"] == sys.argv[2] and f["severity"] == "warning", f
	    assert isinstance(f["line"], int) and f["line"] >= 1, f
	by = {f["rule"]: f for f in out}
	assert by["MaintainerDeprecated"]["line"] == 2
	assert by["MaintainerDeprecated"]["url"] == "https://docs.docker.com/go/dockerfile/rule/maintainer-deprecated/"
	assert by["AptGetInstallUnpinned"]["url"].endswith("/DL3008")
	assert "url" not in by["RunAsRoot"]
	PY
}

@test "sarif output is a SARIF 2.1.0 log: driver rules, results with ruleId, level, message, location" {
	run ibuild --check --format sarif -f "$T/Dockerfile"
	assert_success
	echo "$output" >"$T/out.sarif"
	python3 -m json.tool "$T/out.sarif" >/dev/null
	python3 - "$T/out.sarif" "$T/Dockerfile" warning <<-'PY'
	import json, sys
	log = json.load(open(sys.argv[1]))
	assert log["version"] == "2.1.0", log["version"]
	assert "sarif-2.1.0" in log["$schema"]
	assert len(log["runs"]) == 1
	run = log["runs"][0]
	driver = run["tool"]["driver"]
	assert driver["name"] == "ibuild"
	ids = [r["id"] for r in driver["rules"]]
	assert len(ids) == len(set(ids)) and "StageNameCasing" in ids and "ConsecutiveRunInstructions" in ids
	for r in driver["rules"]:
	    assert r["shortDescription"]["text"], r
	res = run["results"]
	assert len(res) == 7, res
	lines = {}
	for r in res:
	    assert r["level"] == sys.argv[3], r
	    assert r["message"]["text"], r
	    assert ids[r["ruleIndex"]] == r["ruleId"], r
	    loc = r["locations"][0]["physicalLocation"]
	    assert loc["artifactLocation"]["uri"] == sys.argv[2], loc
	    lines[r["ruleId"]] = loc["region"]["startLine"]
	assert lines["UnpinnedBaseImage"] == 1 and lines["MaintainerDeprecated"] == 2 and lines["JSONArgsRecommended"] == 4, lines
	PY
	# Error mode: level error, exit 1; an odd file name is percent-encoded.
	cp "$T/Dockerfile" "$T/my file#1"
	run ibuild --check --check-error --format sarif -f "$T/my file#1"
	assert_failure 1
	echo "$output" >"$T/err.sarif"
	python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["runs"][0]["results"]; assert r and all(x["level"] == "error" for x in r); u=r[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]; assert u.endswith("/my%20file%231"), u' "$T/err.sarif"
	# No findings: an empty results array.
	printf 'FROM scratch\nCOPY a /a\n' >"$T/empty"
	run ibuild --check --format sarif -f "$T/empty"
	assert_success
	echo "$output" | python3 -c 'import json,sys; assert json.load(sys.stdin)["runs"][0]["results"] == []'
}

# An OCI layout DIR holding one image tagged TAG whose config has ENV,
# WorkingDir, User and the platform OS/ARCH (no layers).  NAME, when given,
# is the ref.name annotation instead of TAG (a store's names).
make_base() {
	python3 - "$@" <<-'PY'
	import hashlib, json, os, sys
	d, tag, arch = sys.argv[1], sys.argv[2], sys.argv[3]
	os.makedirs(d + "/blobs/sha256", exist_ok=True)
	def blob(obj):
	    data = json.dumps(obj).encode()
	    h = hashlib.sha256(data).hexdigest()
	    open(d + "/blobs/sha256/" + h, "wb").write(data)
	    return {"digest": "sha256:" + h, "size": len(data)}
	cfg = blob({"architecture": arch, "os": "linux",
	            "config": {"Env": ["PATH=/go/bin:/usr/bin", "GOPATH=/go"], "WorkingDir": "/go", "User": "65532"},
	            "rootfs": {"type": "layers", "diff_ids": []}})
	cfg["mediaType"] = "application/vnd.oci.image.config.v1+json"
	man = blob({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json", "config": cfg, "layers": []})
	man["mediaType"] = "application/vnd.oci.image.manifest.v1+json"
	man["annotations"] = {"org.opencontainers.image.ref.name": tag}
	open(d + "/oci-layout", "w").write('{"imageLayoutVersion":"1.0.0"}')
	json.dump({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": [man]}, open(d + "/index.json", "w"))
	PY
}

@test "a base image in an oci: layout lends its ENV, WorkingDir, User and platform to the checks" {
	make_base "$T/base" v1 amd64
	cat >"$T/df" <<-DF
	FROM oci:$T/base:v1
	WORKDIR src
	ENV CACHE=\$GOPATH/cache
	COPY a .
	DF
	run ibuild --check --platform linux/amd64 -f "$T/df"
	assert_success
	assert_output ""
	# The same Dockerfile on an unknown base: every one of those fires.
	sed "s|oci:$T/base:v1|oci:$T/nothere:v1|" "$T/df" >"$T/df2"
	run ibuild --check --platform linux/amd64 -f "$T/df2"
	assert_success
	assert_line --partial "$T/df2:3: UndefinedVar: usage of undefined variable '\$GOPATH'"
	assert_line --partial "$T/df2:2: WorkdirRelativePath: "
	assert_line --partial "$T/df2:1: RunAsRoot: "
	# The platform of the base against the target platform.
	run ibuild --check --platform linux/arm64 -f "$T/df"
	assert_success
	assert_line --partial "$T/df:1: InvalidBaseImagePlatform: Base image oci:$T/base:v1 was pulled with platform \"linux/amd64\", expected \"linux/arm64"
}

@test "a base image already in the local store is used; nothing is pulled and no store is created" {
	make_base "$T/store" docker.io/library/golang:1.22 amd64
	printf 'FROM golang:1.22\nENV X=$GOPATH\n' >"$T/df"
	run ibuild --check --store "$T/store" -f "$T/df"
	assert_success
	refute_output --partial UndefinedVar
	refute_output --partial RunAsRoot
	IBUILD_STORE="$T/store" run ibuild --check -f "$T/df"
	assert_success
	refute_output --partial UndefinedVar
	# A store that does not exist is not created, and the base stays unknown.
	run ibuild --check --store "$T/nostore" -f "$T/df"
	assert_success
	assert_line --partial "$T/df:2: UndefinedVar: usage of undefined variable '\$GOPATH'"
	[ ! -e "$T/nostore" ]
}

@test "--check-experimental runs CopyIgnoredFile against the context's .dockerignore" {
	mkdir "$T/ctx"
	printf 'FROM a:1\nCOPY secret.env /etc/app.env\nCOPY app /app\nUSER app\n' >"$T/ctx/Dockerfile"
	printf '*.env\n' >"$T/ctx/.dockerignore"
	run ibuild --check "$T/ctx"
	assert_success
	refute_output --partial CopyIgnoredFile
	run ibuild --check --check-experimental CopyIgnoredFile "$T/ctx"
	assert_success
	assert_line "$T/ctx/Dockerfile:2: CopyIgnoredFile: Attempting to Copy file \"secret.env\" that is excluded by .dockerignore"
	run ibuild --check --check-experimental NoSuchCheck "$T/ctx"
	assert_failure 2
	assert_output --partial "unknown check NoSuchCheck"
}
