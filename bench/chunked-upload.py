#!/usr/bin/env python3
"""Chunked blob upload timing for the registry benchmarks: one client
process on one keep-alive connection, 16 MiB PATCHes, so the figure is the
server's.  Usage: chunked-upload.py BASE_URL REPO FILE DIGEST -> MB/s."""
import http.client
import sys
import time
import urllib.parse

base, repo, path, digest = sys.argv[1:5]
u = urllib.parse.urlsplit(base)
c = http.client.HTTPConnection(u.hostname, u.port)


def req(method, target, body=None, headers={}):
    c.request(method, target, body=body, headers=headers)
    r = c.getresponse()
    r.read()
    if r.status >= 300:
        sys.exit(f"{method} {target}: {r.status}")
    return r


def rel(loc):
    s = urllib.parse.urlsplit(loc)
    return s.path + ("?" + s.query if s.query else "")


t0 = time.monotonic()
loc = rel(req("POST", f"/v2/{repo}/blobs/uploads/").getheader("Location"))
off = 0
with open(path, "rb") as f:
    while chunk := f.read(16 << 20):
        r = req("PATCH", loc, chunk, {"Content-Type": "application/octet-stream",
                                      "Content-Range": f"{off}-{off + len(chunk) - 1}"})
        loc = rel(r.getheader("Location"))
        off += len(chunk)
sep = "&" if "?" in loc else "?"
req("PUT", f"{loc}{sep}digest={digest}")
print(off / (1 << 20) / (time.monotonic() - t0))
