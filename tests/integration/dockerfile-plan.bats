#!/usr/bin/env bats
# `ibuild --dry-run`: the build plan printed from real Dockerfiles: stage
# order and dependencies, --target pruning, ARG/ENV expansion, --build-arg,
# --platform, -f (also stdin and NAME.dockerignore), warnings and errors.
load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'
bats_require_minimum_version 1.5.0

setup() {
	T=$(mktemp -d "${BATS_TMPDIR:-/tmp}/dfplan.XXXXXX")
	cd "$T"
	cat >Dockerfile <<-'EOF'
		ARG GO=1.21
		FROM --platform=$BUILDPLATFORM golang:${GO} AS builder
		ARG TARGETARCH
		ENV GOARCH=$TARGETARCH
		WORKDIR /src
		COPY . .
		RUN go build -o /out/app .

		FROM builder AS test
		RUN go test ./...

		FROM alpine:3.19 AS final
		ARG VERSION=dev
		LABEL version=$VERSION
		COPY --from=builder /out/app /usr/bin/app
		USER ${APP_USER:-app}
		CMD ["app"]
	EOF
	mkdir -p src node_modules/pkg
	touch main.go src/a.go node_modules/pkg/index.js
}

hostarch() { uname -m | sed 's/x86_64/amd64/;s/aarch64/arm64/'; }

teardown() {
	cd /
	rm -rf "$T"
}

@test "dry-run prints needed stages in order with deps and expanded instructions" {
	run ibuild --dry-run .
	assert_success
	assert_line --index 0 "[stage 0: builder] FROM golang:1.21 --platform=linux/$(hostarch) (base: image; deps: none)"
	assert_line "  ENV GOARCH=$(hostarch)"
	assert_line "[stage 2: final] FROM alpine:3.19 (base: image; deps: 0 (builder))"
	assert_line "  LABEL version=dev"
	assert_line "  COPY --from=builder /out/app /usr/bin/app"
	assert_line "  USER app"
	assert_line '  CMD ["app"]'
	assert_line --partial "target: stage 2 final"
	# The test stage is not needed for the default target.
	refute_line --partial "[stage 1: test]"
}

@test "--target selects and prunes; --build-arg and --platform expand" {
	run ibuild --dry-run --target TEST --build-arg GO=1.22 --platform linux/arm64 .
	assert_success
	assert_line --partial "[stage 0: builder] FROM golang:1.22"
	assert_line "  ARG TARGETARCH=arm64"
	assert_line "  ENV GOARCH=arm64"
	assert_line "[stage 1: test] FROM builder (base: stage 0 (builder); deps: 0 (builder))"
	assert_line "  RUN go test ./..."
	refute_line --partial "final"
	assert_line "target: stage 1 test, platform linux/arm64"
}

@test "unused build args and undefined variables are warned about on stderr" {
	run --separate-stderr ibuild --dry-run --build-arg VERSION=2.0 --build-arg NOPE=1 --build-arg HTTP_PROXY=http://p:1 .
	assert_success
	assert_line "  LABEL version=2.0"
	[[ "$stderr" == *"build args were not consumed: NOPE"* ]]
	[[ "$stderr" != *HTTP_PROXY* ]]
	[[ "$output" != *warning* ]]
	printf 'FROM scratch\nWORKDIR /$NOWHERE\n' >Dockerfile.undef
	run --separate-stderr ibuild --dry-run -f Dockerfile.undef .
	assert_success
	[[ "$stderr" == *"Dockerfile.undef:2: WORKDIR: undefined variable \$NOWHERE"* ]]
}

@test "--build-arg: a bare NAME takes \$NAME or is skipped; no name is an error naming the value" {
	VERSION=from-env run ibuild --dry-run --build-arg VERSION .
	assert_success
	assert_line "  LABEL version=from-env"
	run ibuild --dry-run --build-arg IBUILD_TEST_UNSET_ARG .
	assert_success
	assert_line "  LABEL version=dev"
	run --separate-stderr ibuild --dry-run --build-arg =x .
	assert_failure 2
	[[ "$stderr" == *"--build-arg '=x': the name is empty"* ]]
	run --separate-stderr ibuild --dry-run --build-arg "VER SION=1" .
	assert_failure 2
	[[ "$stderr" == *"--build-arg 'VER SION=1': the name has a blank"* ]]
}

@test "--verbose shows the environment RUN sees, proxies included" {
	run ibuild --dry-run -v --build-arg HTTP_PROXY=http://p:1 .
	assert_success
	assert_line "    # env HTTP_PROXY=http://p:1"
	assert_line --partial "    # env GOARCH="
	assert_line --regexp '^    # line 7, build args: TARGETARCH=.*$'
}

@test "-f - reads the Dockerfile from stdin; NAME.dockerignore beside -f wins" {
	mkdir build
	printf 'FROM busybox\nARG X=1\nRUN echo $X\nWORKDIR /x$X\n' >build/app.Dockerfile
	printf 'node_modules\n' >.dockerignore
	printf '*\n' >build/app.Dockerfile.dockerignore
	run ibuild --dry-run -f build/app.Dockerfile .
	assert_success
	assert_line "  WORKDIR /x1"
	# "*" from app.Dockerfile.dockerignore: only the Dockerfile and the
	# ignore file themselves (and their directory) remain.
	assert_line --partial "(3 entries after .dockerignore, 1 patterns)"
	run bash -c "printf 'FROM scratch\nENV A=b\nWORKDIR /\$A\n' | ibuild --dry-run -f - ."
	assert_success
	assert_line "  WORKDIR /b"
	assert_line --partial "1 patterns)"
}

@test "errors name the file and line; exit status is non-zero" {
	printf 'FROM a AS x\nCOPY --from=later / /\nFROM b AS later\n' >Dockerfile
	run ibuild --dry-run .
	assert_success # stage x is pruned: its bad reference does not matter
	run ibuild --dry-run --target x .
	assert_failure
	assert_output --partial "Dockerfile:2: cannot copy from stage \"later\""
	printf 'FROM a\nWORKDIR ${DIR:?set DIR}\n' >Dockerfile
	run ibuild --dry-run .
	assert_failure
	assert_output --partial "Dockerfile:2: failed to process"
	assert_output --partial "DIR: set DIR"
	run ibuild --dry-run --build-arg DIR=/d .
	assert_failure
	printf 'FROM a\nARG DIR\nWORKDIR ${DIR:?set DIR}\n' >Dockerfile
	run ibuild --dry-run --build-arg DIR=/d .
	assert_success
	assert_line "  WORKDIR /d"
	run ibuild --dry-run --target missing .
	assert_failure
	assert_output --partial 'target stage "missing" could not be found'
	run ibuild --dry-run --platform bogus .
	assert_failure
	assert_output --partial 'invalid platform "bogus"'
	run ibuild --dry-run --bogus .
	assert_failure 2
	run ibuild --dry-run -f nothere .
	assert_failure
	assert_output --partial nothere
}

# A base image in a temp store, from scratch (no RUN: nothing to sandbox).
make_base() {
	mkdir -p "$T/basectx"
	cat >"$T/basectx/Dockerfile" <<-'EOF2'
		FROM scratch
		ENV BASEVAR=fromimage PATH=/img/bin
		ONBUILD LABEL t=$BASEVAR p=${PATH}
	EOF2
	ibuild -q --store "$T/store" -t base:1 "$T/basectx" >/dev/null
}

@test "base image configs are read where they are local: the store and oci: layouts" {
	make_base
	printf 'FROM base:1\nWORKDIR /$BASEVAR\n' >Dockerfile.local
	run --separate-stderr ibuild --dry-run --store "$T/store" -f Dockerfile.local .
	assert_success
	assert_line "  (onbuild) LABEL t=fromimage p=/img/bin"
	assert_line "  WORKDIR /fromimage"
	refute_output --partial "not available locally"
	[[ "$stderr" != *"undefined variable"* ]]
	skopeo copy -q "oci:$T/store:localhost/base:1" "oci:$T/lay:t"
	printf 'FROM oci:%s/lay:t\nWORKDIR /$BASEVAR\n' "$T" >Dockerfile.layout
	run --separate-stderr ibuild --dry-run --store "$T/empty-store" -f Dockerfile.layout .
	assert_success
	assert_line "  (onbuild) LABEL t=fromimage p=/img/bin"
	assert_line "  WORKDIR /fromimage"
	# the dry run creates no store
	[ ! -e "$T/empty-store" ]
}

@test "a base image that is not local is said to be unknown, without false undefined-variable warnings" {
	printf 'FROM example.invalid/app:1 AS a\nWORKDIR /$APPDIR\nFROM a\nENV X=$APPHOME\n' >Dockerfile.remote
	run --separate-stderr ibuild --dry-run --store "$T/empty-store" -f Dockerfile.remote .
	assert_success
	assert_line "  # base image config not available locally: ENV and ONBUILD triggers of example.invalid/app:1 unknown (a build pulls it; expansions below assume none)"
	assert_line "  # the base image config of stage 0 is not available locally: its ENV is unknown"
	[[ "$stderr" != *"undefined variable"* ]]
}

@test "TARGETSTAGE is the --target stage, else the last stage's name, and needs ARG TARGETSTAGE in a stage" {
	printf 'ARG TARGETSTAGE\nFROM scratch AS Build\nARG TARGETSTAGE\nLABEL s=$TARGETSTAGE\nFROM scratch AS final\nLABEL s=$TARGETSTAGE\n' >Dockerfile.ts
	run --separate-stderr ibuild --dry-run -f Dockerfile.ts --target Build .
	assert_success
	assert_line "  LABEL s=Build"
	run --separate-stderr ibuild --dry-run -f Dockerfile.ts .
	assert_success
	assert_line '  LABEL s=""'
	[[ "$stderr" == *"LABEL: undefined variable \$TARGETSTAGE"* ]]
	printf 'FROM scratch\nARG TARGETSTAGE\nLABEL s=$TARGETSTAGE\n' >Dockerfile.ts2
	run ibuild --dry-run -f Dockerfile.ts2 .
	assert_success
	assert_line "  LABEL s=default"
}
