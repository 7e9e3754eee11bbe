#!/usr/bin/env python3
"""soak.py PORT SECONDS CLIENTDIR: a mixed load on bootsign serve for SECONDS seconds.

Workers (threads): good file-key requests (good.csf), good token requests (token.csf),
token-name churn (a new invented token name each time), slow connections (a request head
trickled a byte at a time), clients that disconnect mid-upload or before reading the
answer. Prints 'good CODE' for every good request and a summary line."""
import collections
import random
import socket
import sys
import threading
import time

port, seconds, d = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
B = b"S0akB0und"
stop = time.time() + seconds
lock = threading.Lock()
codes = collections.Counter()
other = collections.Counter()


def body(csf, machine=b"imx8mp", backend=None):
    def part(n, v, fn=None):
        h = b'Content-Disposition: form-data; name="' + n + b'"'
        if fn:
            h += b'; filename="' + fn + b'"'
        return b"--" + B + b"\r\n" + h + b"\r\n\r\n" + v + b"\r\n"
    x = part(b"machine", machine) + part(b"soctype", b"mx8m") + part(b"cstversion", b"3.3.2")
    if backend:
        x += part(b"backend", backend)
    x += part(b"csf", csf, b"flash.csf")
    x += part(b"artifact", open(d + "/imx-boot-sd.bin", "rb").read(), b"imx-boot-sd.bin")
    return x + b"--" + B + b"--\r\n"


def request(b):
    return (b"POST /sign/imx HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
            b"Content-Type: multipart/form-data; boundary=" + B + b"\r\n"
            b"Content-Length: %d\r\n\r\n" % len(b)) + b


def status(req, read=True):
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=20)
        s.sendall(req)
        if not read:
            s.close()
            return "dropped"
        out = b""
        while True:
            x = s.recv(65536)
            if not x:
                break
            out += x
        s.close()
        return out.split(b" ", 2)[1].decode() if out.startswith(b"HTTP/") else "closed"
    except OSError as e:
        return type(e).__name__


GOOD = request(body(open(d + "/flash.csf", "rb").read()))
TOKEN = request(body(open(d + "/token.csf", "rb").read(), backend=b"pkcs11"))


def good(req):
    while time.time() < stop:
        c = status(req)
        with lock:
            codes[c] += 1


def churn():
    tpl = open(d + "/token.csf", "rb").read()
    n = 0
    while time.time() < stop:
        n += 1
        csf = tpl.replace(b"token=YubiHSM", b"token=churn%d-%d" % (n, random.randrange(1 << 30)))
        c = status(request(body(csf, backend=b"pkcs11")))
        with lock:
            other["churn " + c] += 1


def slow():
    while time.time() < stop:
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=10)
            for ch in b"POST /sign/imx HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 200:
                if time.time() >= stop:
                    break
                s.sendall(bytes([ch]))
                time.sleep(0.05)
            s.close()
            with lock:
                other["slow"] += 1
        except OSError:
            with lock:
                other["slow closed by server"] += 1


def disconnect():
    while time.time() < stop:
        half = GOOD[: len(GOOD) // 2]
        status(half, read=False)           # gone mid-upload
        status(GOOD, read=False)           # gone before the answer
        with lock:
            other["disconnects"] += 2
        time.sleep(0.05)


ts = [threading.Thread(target=good, args=(GOOD,)) for _ in range(3)]
ts += [threading.Thread(target=good, args=(TOKEN,)) for _ in range(3)]
ts += [threading.Thread(target=churn) for _ in range(2)]
ts += [threading.Thread(target=slow) for _ in range(4)]
ts += [threading.Thread(target=disconnect) for _ in range(2)]
for t in ts:
    t.start()
for t in ts:
    t.join()
for c, n in sorted(codes.items()):
    for _ in range(n):
        print("good", c)
print("summary", dict(codes), dict(other), flush=True)
