#!/usr/bin/env python3
"""A stand-in signing server for client tests: answers POST /sign/<name> from a script.

Usage: stub_server.py PORTFILE LOGFILE ANSWER...
Each ANSWER (one per request, the last one repeats) is STATUS[:RETRY_AFTER]; 200 answers
"signed:<bytes received>". Every request is logged to LOGFILE as
"<path> <status> auth=<Authorization header> bytes=<n>". The port is written to PORTFILE.
With STUB_TLS="CERT KEY CA" in the environment it speaks HTTPS with that certificate and
requires a client certificate signed by CA (mutual TLS).
"""
import http.server
import os
import sys

portfile, logfile, answers = sys.argv[1], sys.argv[2], sys.argv[3:]
count = 0


class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # answers Expect: 100-continue at once

    def do_POST(self):
        global count
        n = int(self.headers.get("Content-Length", "0"))
        left = n
        while left > 0:
            left -= len(self.rfile.read(min(left, 1 << 20)))
        a = answers[min(count, len(answers) - 1)].split(":")
        count += 1
        status = int(a[0])
        with open(logfile, "a") as f:
            f.write("%s %d auth=%s bytes=%d\n" % (self.path, status,
                                                 self.headers.get("Authorization", "-"), n))
        body = (b"signed:%d" % n) if status == 200 else b"stub says %d\n" % status
        self.send_response(status)
        self.send_header("X-Request-Id", "stub%04d" % count)
        if len(a) > 1:
            self.send_header("Retry-After", a[1])
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


srv = http.server.HTTPServer(("127.0.0.1", 0), H)
tls = os.environ.get("STUB_TLS")
if tls:
    import ssl
    cert, key, ca = tls.split()
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    ctx.load_verify_locations(ca)
    ctx.verify_mode = ssl.CERT_REQUIRED
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
with open(portfile + ".tmp", "w") as f:
    f.write(str(srv.server_port))
os.rename(portfile + ".tmp", portfile)
srv.serve_forever()
