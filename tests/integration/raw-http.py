#!/usr/bin/env python3
"""Send raw bytes to an HTTP server and print what comes back.

    raw-http.py PORT [WAIT_SECONDS] < REQUEST_BYTES

Writes stdin to 127.0.0.1:PORT as it is (no framing is added or fixed), then
reads until the server closes the connection or WAIT_SECONDS (default 3) pass
without data.  Prints everything received, then a last line "== closed" or
"== open" (the server kept the connection), so tests can assert both the
answers and whether the connection was dropped.
"""
import socket
import sys

port = int(sys.argv[1])
wait = float(sys.argv[2]) if len(sys.argv) > 2 else 3.0
data = sys.stdin.buffer.read()
s = socket.create_connection(("127.0.0.1", port), timeout=wait)
try:
    s.sendall(data)
except (BrokenPipeError, ConnectionResetError):
    pass
out = b""
state = "open"
while True:
    try:
        chunk = s.recv(65536)
    except socket.timeout:
        break
    except ConnectionResetError:
        state = "closed"
        break
    if not chunk:
        state = "closed"
        break
    out += chunk
sys.stdout.write(out.decode("utf-8", "replace"))
sys.stdout.write("\n== %s\n" % state)
