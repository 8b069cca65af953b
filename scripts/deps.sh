#!/usr/bin/env bash
# Install the Debian 12 packages a target needs, or say exactly which.
#   scripts/deps.sh build|demo|test
# As root, missing packages are installed (apt-get update first); otherwise
# the exact apt-get line is printed and the script fails.
set -euo pipefail

build_pkgs=(build-essential pkg-config libcurl4-openssl-dev libarchive-dev libssl-dev
	libjansson-dev libzstd-dev libmicrohttpd-dev libcrypt-dev libgnutls28-dev zlib1g-dev libexpat1-dev libsodium-dev)
# The example's base image is made from busybox-static; rootless RUN wants uidmap;
# ibuild --ssh ID=KEYFILE runs ssh-agent/ssh-add (openssh-client);
# the demo runs the built image with umoci + runc.
demo_pkgs=("${build_pkgs[@]}" busybox-static uidmap openssh-client umoci runc)
test_pkgs=("${demo_pkgs[@]}" libcmocka-dev bats bats-assert bats-support clang
	libclang-rt-14-dev skopeo umoci oci-image-tool docker-registry openssl curl jq
	apache2-utils nginx-light runc zstd python3 podman containerd
	qemu-system-x86 linux-image-cloud-amd64 cpio xz-utils bzip2 openssh-client strace procps
	ceph-mon ceph-osd radosgw ceph-common uuid-runtime)

case "${1:-build}" in
build) want=("${build_pkgs[@]}") ;;
demo) want=("${demo_pkgs[@]}") ;;
test) want=("${test_pkgs[@]}") ;;
*) echo "usage: $0 build|demo|test" >&2; exit 2 ;;
esac

missing=()
for p in "${want[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
	echo "installing: ${missing[*]}" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
	# nginx-light starts a server on port 80 when installed; tests run their own.
	if [[ " ${missing[*]} " == *" nginx-light "* ]]; then
		service nginx stop >/dev/null 2>&1 || true
	fi
else
	echo "missing Debian packages; run as root:" >&2
	echo "  apt-get update && apt-get install -y ${missing[*]}" >&2
	exit 1
fi
