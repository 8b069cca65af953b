#!/usr/bin/env bats
# ibuild --sbom and ibuild sbom: SPDX 2.3 SBOMs of images built FROM a base
# with real package databases (dpkg status + status.d/, apk installed,
# Debian 12 os-release), attached as OCI referrers in layouts and pushed to
# ireg (referrers API) and CNCF distribution (tag schema fallback);
# ipull --inspect --referrers lists them.  No SPDX validator is packaged in
# Debian (syft is not): spdx_check validates the fields SPDX 2.3 requires.

load client-helpers
bats_require_minimum_version 1.5.0

setup() {
	client_setup
	export SOURCE_DATE_EPOCH=1700000000
	local r=$TMP/base/root
	mkdir -p "$r/var/lib/dpkg/status.d" "$r/etc" "$r/usr/lib" "$r/lib/apk/db" "$r/bin"
	cp /bin/busybox "$TMP/base/busybox"
	cat >"$r/var/lib/dpkg/status" <<-'EOF'
		Package: base-files
		Essential: yes
		Status: install ok installed
		Priority: required
		Section: admin
		Installed-Size: 340
		Maintainer: Santiago Vila <sanvila@debian.org>
		Architecture: amd64
		Multi-Arch: foreign
		Version: 12.4+deb12u5
		Conffiles:
		 /etc/debian_version 1a4a6e8b8a4b2f7f1f0e8b7a0a3c6d8e
		Description: Debian base system miscellaneous files
		 This package contains the basic filesystem hierarchy of a Debian system.
		Homepage: https://tracker.debian.org/pkg/base-files

		Package: libcurl4
		Status: install ok installed
		Priority: optional
		Section: libs
		Maintainer: Alessandro Ghedini <ghedo@debian.org>
		Architecture: amd64
		Multi-Arch: same
		Source: curl
		Version: 7.88.1-10+deb12u5
		Depends: libc6 (>= 2.34), zlib1g (>= 1:1.1.4)
		Description: easy-to-use client-side URL transfer library (OpenSSL flavour)
		Homepage: https://curl.se/

		Package: login
		Status: install ok installed
		Priority: required
		Section: admin
		Maintainer: Shadow package maintainers <pkg-shadow-devel@lists.alioth.debian.org>
		Architecture: amd64
		Source: shadow (1:4.13+dfsg1-1)
		Version: 1:4.13+dfsg1-1+b1
		Description: system login tools

		Package: oldconf
		Status: deinstall ok config-files
		Architecture: amd64
		Version: 1.0-1
	EOF
	cat >"$r/var/lib/dpkg/status.d/tzdata" <<-'EOF'
		Package: tzdata
		Version: 2024a-0+deb12u1
		Architecture: all
		Maintainer: GNU Libc Maintainers <debian-glibc@lists.debian.org>
		Installed-Size: 2433
		Description: time zone and daylight-saving time data
	EOF
	printf 'd41d8cd98f00b204e9800998ecf8427e  usr/share/zoneinfo/UTC\n' >"$r/var/lib/dpkg/status.d/tzdata.md5sums"
	cat >"$r/lib/apk/db/installed" <<-'EOF'
		C:Q1p78yvTLG094tHE1+dToJGbmYzQE=
		P:musl
		V:1.2.4-r2
		A:x86_64
		S:383152
		I:622592
		T:the musl c library (libc) implementation
		U:https://musl.libc.org/
		L:MIT
		o:musl
		m:Timo Teräs <timo.teras@iki.fi>
		t:1698766845
		c:5b1a4a2f6c0a5c1b3c7e5f8b
		F:lib
		R:ld-musl-x86_64.so.1
		a:0:0:755
		Z:Q1Tj4Y5lCi4S0mWUa0Y5cVZp1FpLs=

		C:Q1Ed+5sPMhAVSm6GnZuOe4YYPI1SE=
		P:busybox-binsh
		V:1.36.1-r5
		A:x86_64
		L:GPL-2.0-only
		o:busybox
		m:Sören Tempel <soeren+alpine@soeren-tempel.net>
	EOF
	cat >"$r/usr/lib/os-release" <<-'EOF'
		PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
		NAME="Debian GNU/Linux"
		VERSION_ID="12"
		VERSION="12 (bookworm)"
		VERSION_CODENAME=bookworm
		ID=debian
	EOF
	ln -s ../usr/lib/os-release "$r/etc/os-release"
	printf 'FROM scratch\nCOPY busybox /bin/busybox\nCOPY root/ /\nRUN ["/bin/busybox", "--install", "-s", "/bin"]\n' \
		>"$TMP/base/Dockerfile"
	run ibuild -q -t sbombase:1 "$TMP/base"
	assert_success
	BASE_DIGEST=${lines[-1]}
	mkdir -p "$TMP/ctx"
	echo app >"$TMP/ctx/app"
	printf 'FROM localhost/sbombase:1\nCOPY app /app\n' >"$TMP/ctx/Dockerfile"
}

teardown() { client_teardown; }

# spdx_check FILE: the fields SPDX 2.3 requires (clauses 6 and 7), the
# relationships, and a purl on every OS package.
spdx_check() {
	"$PY" - "$1" <<-'PY'
		import json, re, sys
		d = json.load(open(sys.argv[1]))
		assert d["spdxVersion"] == "SPDX-2.3", d["spdxVersion"]
		assert d["dataLicense"] == "CC0-1.0"
		assert d["SPDXID"] == "SPDXRef-DOCUMENT"
		assert d["name"]
		assert re.match(r"^https://\S+$", d["documentNamespace"]) and "#" not in d["documentNamespace"]
		ci = d["creationInfo"]
		assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", ci["created"]), ci["created"]
		assert ci["creators"] and all(re.match(r"^(Tool|Person|Organization): .+", c) for c in ci["creators"])
		ids = set()
		for p in d["packages"]:
		    for k in ("SPDXID", "name", "downloadLocation", "versionInfo"):
		        assert p.get(k), (k, p)
		    assert re.match(r"^SPDXRef-[A-Za-z0-9.-]+$", p["SPDXID"]), p["SPDXID"]
		    assert p["SPDXID"] not in ids
		    ids.add(p["SPDXID"])
		    for r in p.get("externalRefs", []):
		        assert r["referenceCategory"] == "PACKAGE-MANAGER" and r["referenceType"] == "purl"
		        assert re.match(r"^pkg:[a-z]+/", r["referenceLocator"])
		    if p["SPDXID"].startswith("SPDXRef-Package-"):
		        assert len(p["externalRefs"]) == 1
		refs = {l["licenseId"] for l in d.get("hasExtractedLicensingInfos", [])}
		for p in d["packages"]:
		    for t in re.findall(r"LicenseRef-[A-Za-z0-9.-]+", p.get("licenseDeclared", "")):
		        assert t in refs, t
		rels = d["relationships"]
		for r in rels:
		    assert r["spdxElementId"] in ids | {"SPDXRef-DOCUMENT"} and r["relatedSpdxElement"] in ids
		assert {"spdxElementId": "SPDXRef-DOCUMENT", "relationshipType": "DESCRIBES",
		        "relatedSpdxElement": "SPDXRef-Image"} in rels
		contained = {r["relatedSpdxElement"] for r in rels if r["relationshipType"] == "CONTAINS"}
		assert contained == ids - {"SPDXRef-Image", "SPDXRef-BaseImage"}, contained
	PY
}

purls() { jq -r '.packages[].externalRefs[]?.referenceLocator | select(startswith("pkg:deb") or startswith("pkg:apk"))' "$1"; }

@test "ibuild sbom: dpkg status, status.d/ and apk packages with purls, SPDX 2.3 fields, the same bytes twice" {
	run --separate-stderr ibuild sbom -o "$TMP/a.json" sbombase:1
	assert_success
	spdx_check "$TMP/a.json"
	run purls "$TMP/a.json"
	assert_output "pkg:deb/debian/base-files@12.4%2Bdeb12u5?arch=amd64&distro=debian-12
pkg:deb/debian/libcurl4@7.88.1-10%2Bdeb12u5?arch=amd64&distro=debian-12&upstream=curl
pkg:deb/debian/login@1%3A4.13%2Bdfsg1-1%2Bb1?arch=amd64&distro=debian-12&upstream=shadow%401%3A4.13%2Bdfsg1-1
pkg:deb/debian/tzdata@2024a-0%2Bdeb12u1?arch=all&distro=debian-12
pkg:apk/debian/busybox-binsh@1.36.1-r5?arch=x86_64&distro=debian-12&upstream=busybox
pkg:apk/debian/musl@1.2.4-r2?arch=x86_64&distro=debian-12"
	# the config-files leftover is not installed
	run jq -r '.packages[].name' "$TMP/a.json"
	refute_output --partial oldconf
	[ "$(jq -r '.packages[] | select(.name=="login") | .sourceInfo' "$TMP/a.json")" = "source package: shadow 1:4.13+dfsg1-1" ]
	[ "$(jq -r '.packages[] | select(.name=="musl") | .licenseDeclared' "$TMP/a.json")" = MIT ]
	[ "$(jq -r '.packages[] | select(.name=="libcurl4") | .supplier' "$TMP/a.json")" = "Person: Alessandro Ghedini (ghedo@debian.org)" ]
	[ "$(jq -r '.packages[] | select(.SPDXID=="SPDXRef-OperatingSystem") | .name + " " + .versionInfo' "$TMP/a.json")" = "debian 12" ]
	[ "$(jq -r '.packages[0].versionInfo' "$TMP/a.json")" = "$BASE_DIGEST" ]
	[ "$(jq -r '.documentNamespace' "$TMP/a.json")" = "https://spdx.org/spdxdocs/ibuild-image-sha256-${BASE_DIGEST#sha256:}" ]
	[ "$(jq -r '.creationInfo.created' "$TMP/a.json")" = 2023-11-14T22:13:20Z ]
	# deterministic: a second run, and by digest and through an OCI layout
	run ibuild sbom sbombase:1
	assert_success
	[ "$output" = "$(cat "$TMP/a.json")" ]
	skopeo copy -q "oci:$IBUILD_STORE:localhost/sbombase:1" "oci:$TMP/lay:localhost/sbombase:1"
	run ibuild sbom "oci:$TMP/lay:localhost/sbombase:1"
	assert_success
	[ "$output" = "$(cat "$TMP/a.json")" ]
}

@test "ibuild --sbom: a whiteout in a later layer removes the dpkg packages; the base image is named" {
	printf 'FROM localhost/sbombase:1\nRUN rm /var/lib/dpkg/status /lib/apk/db/installed\n' >"$TMP/ctx/Dockerfile"
	run --separate-stderr ibuild --sbom -t child:1 "$TMP/ctx"
	assert_success
	digest=${lines[-1]}
	[[ "$stderr" == *"SBOM sha256:"*": 1 packages"* ]]
	ibuild sbom child:1 >"$TMP/c.json"
	spdx_check "$TMP/c.json"
	run purls "$TMP/c.json"
	assert_output "pkg:deb/debian/tzdata@2024a-0%2Bdeb12u1?arch=all&distro=debian-12"
	[ "$(jq -r '.packages[] | select(.SPDXID=="SPDXRef-BaseImage") | .name' "$TMP/c.json")" = localhost/sbombase:1 ]
	[ "$(jq -r '.packages[] | select(.SPDXID=="SPDXRef-BaseImage") | .versionInfo' "$TMP/c.json")" = "$BASE_DIGEST" ]
	[ "$(jq -r '.relationships[] | select(.relationshipType=="DESCENDANT_OF") | .relatedSpdxElement' "$TMP/c.json")" = SPDXRef-BaseImage ]
	# the store lists the SBOM artifact, unnamed, with its subject
	sbom=$(jq -r '.manifests[] | select(.artifactType=="application/spdx+json") | .digest' "$IBUILD_STORE/index.json")
	[ -n "$sbom" ]
	m=$IBUILD_STORE/blobs/sha256/${sbom#sha256:}
	[ "$(jq -r .subject.digest "$m")" = "$digest" ]
	[ "$(jq -r .layers[0].mediaType "$m")" = application/spdx+json ]
	[ "$(jq -r .config.mediaType "$m")" = application/vnd.oci.empty.v1+json ]
	cmp <(jq -S . "$IBUILD_STORE/blobs/sha256/$(jq -r '.layers[0].digest' "$m" | cut -d: -f2)") <(jq -S . "$TMP/c.json")
}

@test "ibuild --sbom -o type=oci and type=oci-archive: the SBOM is a referrer in the layout" {
	run --separate-stderr ibuild -q --sbom -t app:1 -o "type=oci,dest=$TMP/out" -o "type=oci-archive,dest=$TMP/out.tar" "$TMP/ctx"
	assert_success
	digest=${lines[-1]}
	mkdir "$TMP/untar"
	tar -C "$TMP/untar" -xf "$TMP/out.tar"
	for ref in "$TMP/out:1" "$TMP/untar:app:1"; do
		lay=${ref%%:*}
		run jq -r '.manifests[] | select(.artifactType=="application/spdx+json") | .digest' "$lay/index.json"
		assert_success
		sbom=$output
		[ -n "$sbom" ]
		[ "$(jq -r .subject.digest "$lay/blobs/sha256/${sbom#sha256:}")" = "$digest" ]
		[ "$(jq -r .artifactType "$lay/blobs/sha256/${sbom#sha256:}")" = application/spdx+json ]
		# the image is still there under its name, and whole
		skopeo inspect --raw "oci:$ref" >"$TMP/m.json"
		[ "sha256:$(sha "$TMP/m.json")" = "$digest" ]
		umoci unpack --rootless --image "$ref" "$TMP/bundle-${lay##*/}" >/dev/null
		[ "$(cat "$TMP/bundle-${lay##*/}/rootfs/app")" = app ]
	done
	[ "$(jq -r '.manifests[0].annotations["org.opencontainers.image.ref.name"]' "$TMP/untar/index.json")" = app:1 ]
}

# push_and_find REGISTRY HOW: --sbom --push, then the referrer through HOW.
push_and_find() {
	local reg=$1 how=$2
	run --separate-stderr ibuild -q --sbom -t "$reg/test/app:1" --push "$TMP/ctx"
	assert_success
	digest=${lines[-1]}
	if [ "$how" = api ]; then
		curl -sf "http://$reg/v2/test/app/referrers/$digest" >"$TMP/refs.json"
	else
		# distribution 2.8 has no referrers API: the sha256-<hex> tag lists it
		run curl -s -o /dev/null -w '%{http_code}' "http://$reg/v2/test/app/referrers/$digest"
		assert_output 404
		skopeo inspect --tls-verify=false --raw "docker://$reg/test/app:sha256-${digest#sha256:}" >"$TMP/refs.json"
	fi
	sbom=$(jq -r '.manifests[] | select(.artifactType=="application/spdx+json") | .digest' "$TMP/refs.json")
	[ -n "$sbom" ]
	run skopeo inspect --tls-verify=false --raw "docker://$reg/test/app@$sbom"
	assert_success
	[ "$(jq -r .subject.digest <<<"$output")" = "$digest" ]
	[ "$(jq -r .artifactType <<<"$output")" = application/spdx+json ]
	layer=$(jq -r '.layers[0].digest' <<<"$output")
	curl -sf "http://$reg/v2/test/app/blobs/$layer" >"$TMP/pushed.json"
	spdx_check "$TMP/pushed.json"
	[ "$(jq -r .name "$TMP/pushed.json")" = "$reg/test/app:1" ]
	run ipull --inspect --referrers "$reg/test/app:1"
	assert_success
	assert_output --partial "application/spdx+json $sbom "
}

@test "ibuild --sbom --push to ireg: the referrers API lists the SBOM; ipull --inspect --referrers too" {
	start_ireg
	push_and_find "$IREG" api
	assert_output --partial "(referrers API)"
}

@test "ibuild --sbom --push --sign-key to distribution: the tag schema fallback; signatures listed beside" {
	start_dist
	openssl ecparam -name prime256v1 -genkey -noout | openssl pkcs8 -topk8 -nocrypt -out "$TMP/k.pem"
	openssl ec -in "$TMP/k.pem" -pubout -out "$TMP/k.pub" 2>/dev/null
	printf 'FROM localhost/sbombase:1\nCOPY app /app\nLABEL signed=1\n' >"$TMP/ctx/Dockerfile"
	push_and_find "$DIST" tag
	run ibuild -q --sbom --sign-key "$TMP/k.pem" -t "$DIST/test/app:1" --push "$TMP/ctx"
	assert_success
	run ipull --inspect --referrers "$DIST/test/app:1"
	assert_success
	assert_line --partial "application/spdx+json $sbom "
	assert_line --regexp '^application/vnd.dev.cosign.simplesigning.v1\+json sha256:[0-9a-f]{64} [0-9]+ \(cosign tag\)$'
	run ipull --referrers "$DIST/test/app:1"
	assert_failure 2
	assert_output --partial "--referrers goes with --inspect"
}

@test "ibuild sbom: an rpm database is reported as found but not read; bad references are named" {
	mkdir -p "$TMP/rpm/var/lib/rpm"
	head -c 4096 /dev/zero >"$TMP/rpm/var/lib/rpm/rpmdb.sqlite"
	printf 'FROM scratch\nCOPY var /var\n' >"$TMP/rpm/Dockerfile"
	run ibuild -q -t rpmimg:1 "$TMP/rpm"
	assert_success
	run --separate-stderr ibuild sbom rpmimg:1
	assert_success
	[[ "$stderr" == *"warning: SBOM: rpm database /var/lib/rpm/rpmdb.sqlite found but not read"* ]]
	[ "$(jq '[.packages[] | select(.SPDXID | startswith("SPDXRef-Package-"))] | length' <<<"$output")" = 0 ]
	run ibuild sbom nosuch:1
	assert_failure
	assert_output --partial "nosuch:1"
	run ibuild sbom
	assert_failure 2
}
