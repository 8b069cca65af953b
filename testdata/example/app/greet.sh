#!/bin/sh
# greet @VERSION@
[ "$1" = "--check" ] && exit 0
echo "${GREETING:-hi}, ${1:-there}! (greet @VERSION@, running as $(id -un))"
