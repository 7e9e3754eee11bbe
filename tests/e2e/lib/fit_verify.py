#!/usr/bin/env python3
"""Independent check of a signed U-Boot FIT against a control DTB (Python stdlib only).

Shares no code with bootsign: its own FDT reader, its own rebuild of the signed regions
from `hashed-nodes` / `hashed-strings` (as U-Boot's boot/image-fit-sig.c does), RSA
(PKCS#1 v1.5 and PSS) and ECDSA (P-256/P-384) verification with Python integers, the
public key taken from the DTB's /signature/key-<name> node (whose rsa,n0-inverse and
rsa,r-squared are recomputed from the modulus and compared).

Usage: fit_verify.py FIT DTB [CONFIG]   exit 0 = every configuration signature (and every
image hash and image signature) verifies; 1 = rejected (reason on stderr).
       fit_verify.py --reject DTB FIT...  exit 0 = every FIT is rejected."""
import hashlib
import struct
import sys
import zlib

FDT_BEGIN_NODE, FDT_END_NODE, FDT_PROP, FDT_NOP, FDT_END = 1, 2, 3, 4, 9
EXCLUDED = {"data", "data-size", "data-position", "data-offset"}


class Reject(Exception):
    pass


class Fdt:
    def __init__(self, blob):
        if len(blob) < 40 or blob[:4] != b"\xd0\x0d\xfe\xed":
            raise Reject("not an FDT")
        (_, self.total, self.off_struct, self.off_strings, _, _, _, _, self.size_strings,
         self.size_struct) = struct.unpack(">10I", blob[:40])
        self.b = blob
        self.tags = []  # (offset within struct, tag, extra)
        self.nodes = {}  # path -> {"props": {name: bytes}, "children": [names]}
        self._walk()

    def string(self, off):
        s = self.off_strings + off
        e = self.b.index(b"\0", s)
        return self.b[s:e].decode()

    def _walk(self):
        off, stack = 0, []
        while True:
            (tag,) = struct.unpack(">I", self.b[self.off_struct + off:self.off_struct + off + 4])
            start = off
            off += 4
            if tag == FDT_BEGIN_NODE:
                e = self.b.index(b"\0", self.off_struct + off)
                name = self.b[self.off_struct + off:e].decode()
                off = (e - self.off_struct + 1 + 3) & ~3
                path = "/" if not stack else (stack[-1].rstrip("/") + "/" + name)
                if stack:
                    self.nodes[stack[-1]]["children"].append(name)
                self.nodes[path] = {"props": {}, "children": []}
                stack.append(path)
                self.tags.append((start, tag, name))
            elif tag == FDT_PROP:
                ln, nameoff = struct.unpack(">II", self.b[self.off_struct + off:self.off_struct + off + 8])
                val = self.b[self.off_struct + off + 8:self.off_struct + off + 8 + ln]
                pname = self.string(nameoff)
                self.nodes[stack[-1]]["props"][pname] = val
                off = (off + 8 + ln + 3) & ~3
                self.tags.append((start, tag, pname))
            elif tag == FDT_END_NODE:
                stack.pop()
                self.tags.append((start, tag, None))
            elif tag == FDT_NOP:
                self.tags.append((start, tag, None))
            elif tag == FDT_END:
                self.tags.append((start, tag, None))
                self.end = off
                return
            else:
                raise Reject("bad tag %d" % tag)

    def prop(self, path, name):
        n = self.nodes.get(path)
        return None if n is None else n["props"].get(name)

    def str_prop(self, path, name):
        v = self.prop(path, name)
        return None if v is None else v.rstrip(b"\0").decode()

    def regions(self, include):
        """Struct-block ranges U-Boot hashes for the listed node paths."""
        out, want_stack, want, path = [], [], 0, []
        start = None
        for i, (off, tag, extra) in enumerate(self.tags):
            nxt = self.tags[i + 1][0] if i + 1 < len(self.tags) else self.end
            stop = nxt
            if tag == FDT_PROP:
                inc = want >= 2 and extra not in EXCLUDED
                stop = off
            elif tag == FDT_NOP:
                inc = want >= 2
                stop = off
            elif tag == FDT_BEGIN_NODE:
                path.append(extra)
                p = "/" + "/".join(x for x in path if x)
                want_stack.append(want)
                if want == 1:
                    stop = off
                if p in include:
                    want = 2
                elif want:
                    want -= 1
                else:
                    stop = off
                inc = want > 0
            elif tag == FDT_END_NODE:
                inc = want > 0
                want = want_stack.pop()
                path.pop()
            else:
                inc = True
            if inc and start is None:
                if out and out[-1][0] + out[-1][1] == off:
                    start = out.pop()[0]
                else:
                    start = off
            if not inc and start is not None:
                out.append((start, stop - start))
                start = None
        out.append((start, self.end - start))
        return [(self.off_struct + o, ln) for o, ln in out]


def cells(v):
    return int.from_bytes(v, "big")


DIGEST_INFO = {
    "sha1": bytes.fromhex("3021300906052b0e03021a05000414"),
    "sha256": bytes.fromhex("3031300d060960864801650304020105000420"),
    "sha384": bytes.fromhex("3041300d060960864801650304020205000430"),
    "sha512": bytes.fromhex("3051300d060960864801650304020305000440"),
}


def mgf1(seed, n, h):
    out, c = b"", 0
    while len(out) < n:
        out += hashlib.new(h, seed + c.to_bytes(4, "big")).digest()
        c += 1
    return out[:n]


def rsa_verify(key, hname, digest, sig, pss):
    n, e = cells(key["rsa,modulus"]), cells(key["rsa,exponent"])
    bits = cells(key["rsa,num-bits"])
    if n.bit_length() != bits:
        raise Reject("rsa,num-bits does not match the modulus")
    if (cells(key["rsa,n0-inverse"]) * n + 1) % (1 << 32) != 0:
        raise Reject("rsa,n0-inverse is wrong")
    if cells(key["rsa,r-squared"]) != pow(2, 2 * bits, n):
        raise Reject("rsa,r-squared is wrong")
    k = (bits + 7) // 8
    if len(sig) != k:
        raise Reject("signature length %d, key %d bytes" % (len(sig), k))
    em = pow(int.from_bytes(sig, "big"), e, n).to_bytes(k, "big")
    if not pss:
        t = DIGEST_INFO[hname] + digest
        want = b"\x00\x01" + b"\xff" * (k - len(t) - 3) + b"\x00" + t
        if em != want:
            raise Reject("RSA PKCS#1 v1.5 signature does not verify")
        return
    hl = len(digest)
    em_bits = bits - 1
    em_len = (em_bits + 7) // 8
    em = em[-em_len:]
    if em[-1] != 0xBC:
        raise Reject("PSS: bad trailer")
    masked, h = em[:em_len - hl - 1], em[em_len - hl - 1:-1]
    db = bytes(a ^ b for a, b in zip(masked, mgf1(h, em_len - hl - 1, hname)))
    db = bytes([db[0] & (0xFF >> (8 * em_len - em_bits))]) + db[1:]
    i = 0
    while i < len(db) and db[i] == 0:
        i += 1
    if i >= len(db) or db[i] != 1:
        raise Reject("PSS: bad padding")
    salt = db[i + 1:]
    if hashlib.new(hname, b"\0" * 8 + digest + salt).digest() != h:
        raise Reject("RSA-PSS signature does not verify")


CURVES = {
    "prime256v1": (0xFFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF,
                   -3, 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551,
                   0x6B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C296,
                   0x4FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB6406837BF51F5),
    "secp384r1": (int("ff" * 31 + "fe" + "ff" * 4 + "00" * 8 + "ff" * 4, 16), -3,
                  int("ffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf"
                      "581a0db248b0a77aecec196accc52973", 16),
                  int("aa87ca22be8b05378eb1c71ef320ad746e1d3b628ba79b9859f741e082542a38"
                      "5502f25dbf55296c3a545e3872760ab7", 16),
                  int("3617de4a96262c6f5d9e98bf9292dc29f8f41dbd289a147ce9da3113b5f0b8c0"
                      "0a60b1ce1d7e819d7a431d7c90ea0e5f", 16)),
}


def ec_add(P, Q, p, a):
    if P is None:
        return Q
    if Q is None:
        return P
    if P[0] == Q[0] and (P[1] + Q[1]) % p == 0:
        return None
    if P == Q:
        lam = (3 * P[0] * P[0] + a) * pow(2 * P[1], -1, p) % p
    else:
        lam = (Q[1] - P[1]) * pow(Q[0] - P[0], -1, p) % p
    x = (lam * lam - P[0] - Q[0]) % p
    return (x, (lam * (P[0] - x) - P[1]) % p)


def ec_mul(k, P, p, a):
    R = None
    while k:
        if k & 1:
            R = ec_add(R, P, p, a)
        P = ec_add(P, P, p, a)
        k >>= 1
    return R


def ecdsa_verify(key, digest, sig):
    curve = key["ecdsa,curve"].rstrip(b"\0").decode()
    if curve not in CURVES:
        raise Reject("unknown curve " + curve)
    p, a, n, gx, gy = CURVES[curve]
    Q = (cells(key["ecdsa,x-point"]), cells(key["ecdsa,y-point"]))
    half = len(sig) // 2
    r, s = int.from_bytes(sig[:half], "big"), int.from_bytes(sig[half:], "big")
    if not (0 < r < n and 0 < s < n) or half * 8 != n.bit_length():
        raise Reject("ECDSA signature out of range")
    z = int.from_bytes(digest, "big") >> max(0, len(digest) * 8 - n.bit_length())
    w = pow(s, -1, n)
    X = ec_add(ec_mul(z * w % n, (gx, gy), p, a), ec_mul(r * w % n, Q, p, a), p, a)
    if X is None or X[0] % n != r:
        raise Reject("ECDSA signature does not verify")


def check_sig(key, algo, padding, digest, sig):
    hname, crypto = algo.split(",", 1)
    if crypto.startswith("rsa"):
        rsa_verify(key, hname, digest, sig, padding == "pss")
    elif crypto.startswith("ecdsa"):
        ecdsa_verify(key, digest, sig)
    else:
        raise Reject("unknown algo " + algo)


def find_key(dtb, hint):
    key = dtb.nodes.get("/signature/key-" + hint)
    if key is None:
        raise Reject("DTB has no key node key-%s" % hint)
    return key["props"]


def check_images(fit):
    for img in fit.nodes["/images"]["children"]:
        ip = "/images/" + img
        data = fit.prop(ip, "data")
        for sub in fit.nodes[ip]["children"]:
            sp = ip + "/" + sub
            if sub.startswith("hash"):
                algo = fit.str_prop(sp, "algo")
                if algo == "crc32":
                    want = zlib.crc32(data).to_bytes(4, "big")
                else:
                    want = hashlib.new(algo, data).digest()
                if want != fit.prop(sp, "value"):
                    raise Reject("%s: hash mismatch" % sp)


def check_image_sigs(fit, dtb):
    for img in fit.nodes["/images"]["children"]:
        ip = "/images/" + img
        for sub in fit.nodes[ip]["children"]:
            sp = ip + "/" + sub
            if sub.startswith("signature"):
                algo = fit.str_prop(sp, "algo")
                d = hashlib.new(algo.split(",")[0], fit.prop(ip, "data")).digest()
                check_sig(find_key(dtb, fit.str_prop(sp, "key-name-hint")), algo,
                          fit.str_prop(sp, "padding"), d, fit.prop(sp, "value"))


def check_config(fit, dtb, conf):
    cp = "/configurations/" + conf
    sigs = [s for s in fit.nodes[cp]["children"] if s.startswith("signature")]
    if not sigs:
        raise Reject("%s has no signature" % cp)
    covered = []
    for s in sigs:
        sp = cp + "/" + s
        nodes = fit.prop(sp, "hashed-nodes")
        if not nodes or not nodes.endswith(b"\0"):
            raise Reject("%s: no hashed-nodes" % sp)
        include = nodes[:-1].decode().split("\0")
        if cp not in include:
            raise Reject("%s: configuration not among the hashed nodes" % sp)
        regions = fit.regions(set(include))
        hs = fit.prop(sp, "hashed-strings")
        if hs is not None:
            regions.append((fit.off_strings, struct.unpack(">II", hs)[1]))
        algo = fit.str_prop(sp, "algo")
        h = hashlib.new(algo.split(",")[0])
        for off, ln in regions:
            h.update(fit.b[off:off + ln])
        check_sig(find_key(dtb, fit.str_prop(sp, "key-name-hint")), algo,
                  fit.str_prop(sp, "padding"), h.digest(), fit.prop(sp, "value"))
        covered.append(set(include))
    # Some signature must cover every image the configuration uses.
    used = set()
    for kind in ("kernel", "fdt", "ramdisk", "loadables", "firmware"):
        v = fit.prop(cp, kind)
        used |= {"/images/" + n for n in (v.rstrip(b"\0").decode().split("\0") if v else [])}
    if not any(used <= c for c in covered):
        raise Reject("%s: no signature covers all of %s" % (cp, sorted(used)))


def verify(fit_path, dtb_path, conf=None):
    fit = Fdt(open(fit_path, "rb").read())
    dtb = Fdt(open(dtb_path, "rb").read())
    confs = [conf] if conf else fit.nodes["/configurations"]["children"]
    check_images(fit)
    check_image_sigs(fit, dtb)
    for c in confs:
        check_config(fit, dtb, c)


def rejected(fit_path, dtb_path, conf=None):
    try:
        verify(fit_path, dtb_path, conf)
    except (Reject, KeyError, ValueError, IndexError, struct.error) as e:
        return str(e)
    return None


def main():
    if sys.argv[1] == "--reject":
        for f in sys.argv[3:]:
            if rejected(f, sys.argv[2]) is None:
                print("fit_verify: %s verified but must not" % f, file=sys.stderr)
                return 1
        return 0
    why = rejected(sys.argv[1], sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else None)
    if why is not None:
        print("fit_verify: rejected: %s" % why, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
