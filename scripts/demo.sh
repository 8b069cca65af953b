#!/usr/bin/env bash
# The README's main job on a local example, no internet:
#   1. make a busybox base image from Debian's busybox-static (with ibuild, FROM scratch),
#   2. build testdata/example/app (two stages, heredoc RUN, COPY --from, USER...) on it,
#   3. export it as an OCI layout, show what was built and (as root, with runc) run it.
# Runs as root or rootless (then with /etc/subuid ranges when present).
# Usage: scripts/demo.sh [BUILD_DIR]   (uses $IBUILD_STORE or a temp store)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
bin=$PWD/$build/bin
work=$(mktemp -d /tmp/ibuild-demo.XXXXXX)
trap 'rm -rf "$work"' EXIT
export IBUILD_STORE=${IBUILD_STORE:-$work/store}

busybox=$(command -v busybox || true)
[ -x /bin/busybox ] && busybox=/bin/busybox
if [ -z "$busybox" ] || ! file -L "$busybox" 2>/dev/null | grep -q 'statically linked'; then
	busybox=/bin/busybox
fi
cp -r testdata/example/base "$work/base"
cp "$busybox" "$work/base/busybox"

echo "==> building the base image example/busybox:1.0 from $busybox"
"$bin/ibuild" -t example/busybox:1.0 "$work/base"
echo
echo "==> building example/greet:1.0 from testdata/example/app"
"$bin/ibuild" -t example/greet:1.0 --output "type=oci,dest=$work/layout" testdata/example/app
echo
echo "==> rebuilding (every step comes from the cache)"
"$bin/ibuild" -t example/greet:1.0 testdata/example/app 2>&1 | grep -c CACHED | sed 's/$/ steps cached/'
echo
echo "==> the image"
if command -v skopeo >/dev/null; then
	skopeo inspect --config --raw "oci:$work/layout:1.0" | python3 -m json.tool | sed -n '1,40p'
else
	cat "$work/layout/index.json"; echo
fi
if [ "$(id -u)" = 0 ] && command -v umoci >/dev/null && command -v runc >/dev/null; then
	echo
	echo "==> running it with runc"
	umoci unpack --image "$work/layout:1.0" "$work/bundle" >/dev/null
	python3 - "$work/bundle/config.json" <<'PY'
import json, sys
p = sys.argv[1]
c = json.load(open(p))
c["process"]["terminal"] = False
json.dump(c, open(p, "w"))
PY
	(cd "$work/bundle" && runc run "ibuild-demo-$$")
fi
