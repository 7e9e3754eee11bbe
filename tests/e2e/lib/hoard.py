#!/usr/bin/env python3
"""Hostile connection patterns against bootsign serve on 127.0.0.1 (issue 14 item 2).

hoard.py slowloris PORT N SECONDS: N connections trickle one header line every 0.5 s;
  meanwhile GET /healthz and a signing request are sent every second. Prints
  'healthz CODE', 'sign CODE RETRY-AFTER' lines and, at the end, 'closed-by-server K'
  (attacker connections the server closed before the attack ended).
hoard.py uploads PORT N EXTRA CLIENTDIR: N uploads send their head and half their body;
  then EXTRA complete requests; then the N uploads finish. Prints 'busy CODE' for each
  of the N, 'extra CODE RETRY-AFTER' for each extra ('closed' = no HTTP answer).
hoard.py raw PORT FILE: send FILE's bytes as one request; print the status code ('closed'
  when no HTTP answer came) and the body. 10 s bound."""
import socket
import sys
import threading
import time

B = b"XyZb0und"


def body(d):
    def part(n, v, fn=None):
        h = b'Content-Disposition: form-data; name="' + n + b'"'
        if fn:
            h += b'; filename="' + fn + b'"'
        return b"--" + B + b"\r\n" + h + b"\r\n\r\n" + v + b"\r\n"
    x = part(b"machine", b"imx8mp") + part(b"soctype", b"mx8m") + part(b"cstversion", b"3.3.2")
    x += part(b"csf", open(d + "/flash.csf", "rb").read(), b"flash.csf")
    x += part(b"artifact", open(d + "/imx-boot-sd.bin", "rb").read(), b"imx-boot-sd.bin")
    return x + b"--" + B + b"--\r\n"


def request(d):
    b = body(d)
    return (b"POST /sign/imx HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
            b"Content-Type: multipart/form-data; boundary=" + B + b"\r\n"
            b"Content-Length: %d\r\n\r\n" % len(b)) + b


def read_all(s):
    out = b""
    try:
        while True:
            x = s.recv(65536)
            if not x:
                break
            out += x
    except OSError:
        pass
    return out


def answer(s):
    """Status code and Retry-After of the response on s ('closed' if none)."""
    out = read_all(s)
    if not out.startswith(b"HTTP/"):
        return "closed", "-"
    head = out.split(b"\r\n\r\n", 1)[0].decode(errors="replace").split("\r\n")
    ra = "-"
    for h in head[1:]:
        if h.lower().startswith("retry-after:"):
            ra = h.split(":", 1)[1].strip()
    return head[0].split(" ")[1], ra


def one(port, req):
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        s.sendall(req)
        return answer(s)
    except OSError:
        return "closed", "-"


def slowloris(port, n, seconds, d):
    socks = [socket.create_connection(("127.0.0.1", port)) for _ in range(n)]
    for s in socks:
        s.sendall(b"POST /sign/imx HTTP/1.1\r\nHost: x\r\n")
    alive = [True] * n
    t0 = time.time()
    k = 0
    next_probe = 0.0
    req = request(d)
    while time.time() - t0 < seconds:
        for i, s in enumerate(socks):
            if not alive[i]:
                continue
            try:
                s.sendall(b"X-%d: a\r\n" % k)
            except OSError:
                alive[i] = False
        k += 1
        if time.time() - t0 >= next_probe:
            code, _ = one(port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            print("healthz", code, flush=True)
            code, ra = one(port, req)
            print("sign %s %s t=%.1f" % (code, ra, time.time() - t0), flush=True)
            next_probe += 1.0
        time.sleep(0.5)
    print("closed-by-server", alive.count(False))
    for s in socks:
        s.close()


def uploads(port, n, extra, d):
    req = request(d)
    half = len(req) // 2
    busy = [socket.create_connection(("127.0.0.1", port), timeout=15) for _ in range(n)]
    for b in busy:
        b.sendall(req[:half])
    time.sleep(0.5)
    res = [None] * extra

    def ex(i):
        res[i] = one(port, req)
    ts = [threading.Thread(target=ex, args=(i,)) for i in range(extra)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    for code, ra in res:
        print("extra", code, ra)
    for b in busy:
        try:
            b.sendall(req[half:])
        except OSError:
            pass
    for b in busy:
        print("busy", answer(b)[0])


def raw(port, path):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(open(path, "rb").read())
    out = read_all(s)
    line = out.split(b"\r\n", 1)[0].split(b" ")
    print(line[1].decode() if len(line) > 1 and out.startswith(b"HTTP/") else "closed")
    sys.stdout.write(out.split(b"\r\n\r\n", 1)[-1].decode(errors="replace") if out else "")


if __name__ == "__main__":
    mode, port = sys.argv[1], int(sys.argv[2])
    if mode == "raw":
        raw(port, sys.argv[3])
    elif mode == "slowloris":
        slowloris(port, int(sys.argv[3]), float(sys.argv[4]), sys.argv[5])
    else:
        uploads(port, int(sys.argv[3]), int(sys.argv[4]), sys.argv[5])
