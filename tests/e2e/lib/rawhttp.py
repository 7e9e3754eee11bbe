#!/usr/bin/env python3
"""rawhttp.py PORT FILE: send FILE's bytes as one raw request to 127.0.0.1:PORT and print
the status line's code (or 'closed' when no HTTP response came). 10 s bound."""
import socket
import sys

port, path = int(sys.argv[1]), sys.argv[2]
req = open(path, "rb").read()
s = socket.create_connection(("127.0.0.1", port), timeout=10)
s.sendall(req)
out = b""
try:
    while True:
        x = s.recv(65536)
        if not x:
            break
        out += x
except OSError:
    pass
line = out.split(b"\r\n", 1)[0].split(b" ")
print(line[1].decode() if len(line) > 1 and out.startswith(b"HTTP/") else "closed")
sys.stdout.write(out.split(b"\r\n\r\n", 1)[-1].decode(errors="replace") if out else "")
