#!/usr/bin/env python3
"""AHAB test helper written from the format notes (AHAB.md §2-§8), independent of bootsign.

  ahab.py build OUT [--hash sha256|sha384] [--first 0x2000] [--base 0] [--size0 N] [--into 1] [--fuse-version N]
      an unsigned container set: one container at --base with two images (an executable
      for the A35 and a data image for the M4), image hashes filled in, a 16-byte empty
      signature block.
  ahab.py check IMAGE FUSE [--offset N] [--revoked MASK]
      independent verifier: structure, image hashes (hashlib), SRK table hash vs FUSE,
      then the certificate and container signatures with `openssl pkeyutl -verify`
      (public keys rebuilt as DER SubjectPublicKeyInfo from the SRK records).
      Prints "OK" or "FAIL <check>: ..." and exits 0 / 1.
  ahab.py resign-pss IN OUT KEY SALT
      replace the container signature of the RSA-PSS container at 0 with one made by
      `openssl pkeyutl` with rsa_pss_saltlen SALT (max: CST's OpenSSL default)
  ahab.py expect IN OUT TABLE SRKKEY OFF_FIRST SRK_INDEX REVOKE [SGKCERT SGKKEY PERM]
      the signed image CST 4.0.1 would write (AHAB.md §4, §7, §10) for RSA PKCS#1 v1.5
      keys, signatures made with `openssl pkeyutl -sign` (deterministic).
"""
import hashlib
import os
import struct
import subprocess
import sys
import tempfile

HASHES = {0: 'sha256', 1: 'sha384', 2: 'sha512'}


def align8(n):
    return (n + 7) & ~7


def build(argv):
    out = argv[0]
    opts = dict(zip(argv[1::2], argv[2::2]))
    hcode = {'sha256': 0, 'sha384': 1, 'sha512': 2}[opts.get('--hash', 'sha256')]
    first = int(opts.get('--first', '0x2000'), 0)
    base = int(opts.get('--base', '0'), 0)
    if '--size0' in opts:  # a large first image (benchmarks)
        img0 = os.urandom(int(opts['--size0'], 0))
    else:
        img0 = bytes((i * 7 + 3) & 0xFF for i in range(0x1800))
    img1 = bytes((i * 13 + 1) & 0xFF for i in range(0xA0D))
    second = first + ((len(img0) + 0x1FFF) & ~0x1FFF)
    imgs = [(first, img0, 0x23 | hcode << 8, 0x80000000, 0x80000000),
            (second, img1, 0x14 | hcode << 8, 0x1FFE0000, 0x1FFE0000)]
    n = len(imgs)
    sb_off = 16 + 128 * n
    fv = int(opts.get('--fuse-version', '0'), 0)
    hdr = struct.pack('<BHBIHBBHH', 0, sb_off + 16, 0x87, 0, 0, fv, n, sb_off, 0)
    arr = b''
    for off, data, flags, load, entry in imgs:
        h = hashlib.new(HASHES[hcode], data).digest().ljust(64, b'\0')
        arr += struct.pack('<IIQQII', off, len(data), load, entry, flags, 0) + h + bytes(32)
    sigblk = struct.pack('<BHBHHHHI', 0, 16, 0x90, 0, 0, 0, 0, 0)
    size = base + second + len(img1)
    buf = bytearray(size)
    if opts.get('--into') == '1':  # add this container to an existing container set
        old = open(out, 'rb').read()
        buf = bytearray(old) + bytearray(max(0, size - len(old)))
    c = hdr + arr + sigblk
    buf[base:base + len(c)] = c
    for off, data, *_ in imgs:
        buf[base + off:base + off + len(data)] = data
    with open(out, 'wb') as f:
        f.write(buf)


# --- DER, just enough for SubjectPublicKeyInfo and ECDSA-Sig-Value ---
def der_len(n):
    if n < 0x80:
        return bytes([n])
    b = n.to_bytes((n.bit_length() + 7) // 8, 'big')
    return bytes([0x80 | len(b)]) + b


def der(tag, body):
    return bytes([tag]) + der_len(len(body)) + body


def der_int(b):
    b = b.lstrip(b'\0') or b'\0'
    if b[0] & 0x80:
        b = b'\0' + b
    return der(0x02, b)


OID_RSA = bytes.fromhex('06092a864886f70d010101')
OID_EC = bytes.fromhex('06072a8648ce3d0201')
CURVES = {1: ('06082a8648ce3d030107', 32), 2: ('06052b81040022', 48), 3: ('06052b81040023', 66)}
RSA_SIZES = {5: 256, 6: 384, 7: 512}


class Fail(Exception):
    pass


def parse_record(p, what):
    """SRK record (TLV E1) -> dict with 'spki' (DER), 'alg', 'hash', 'siglen', 'len'."""
    if len(p) < 12 or p[0] != 0xE1:
        raise Fail(f'{what}: not an E1 record')
    rlen, = struct.unpack_from('<H', p, 1)
    alg, hcode, size, rsv, flags = p[3], p[4], p[5], p[6], p[7]
    la, lb = struct.unpack_from('<HH', p, 8)
    if rlen != 12 + la + lb or rlen > len(p) or rsv != 0 or flags & 0x7F:
        raise Fail(f'{what}: bad record lengths/reserved')
    a, b = p[12:12 + la], p[12 + la:12 + la + lb]
    if alg in (0x21, 0x22):
        if RSA_SIZES.get(size) != la:
            raise Fail(f'{what}: RSA size code')
        body = der(0x30, der_int(a) + der_int(b))
        spki = der(0x30, der(0x30, OID_RSA + b'\x05\x00') + der(0x03, b'\0' + body))
        siglen = la
    elif alg == 0x27:
        oid, coord = CURVES[size]
        if la != coord or lb != coord:
            raise Fail(f'{what}: EC coordinate sizes')
        spki = der(0x30, der(0x30, OID_EC + bytes.fromhex(oid)) + der(0x03, b'\0\x04' + a + b))
        siglen = 2 * coord
    else:
        raise Fail(f'{what}: algorithm {alg:#x}')
    if hcode not in HASHES:
        raise Fail(f'{what}: hash code')
    return {'spki': spki, 'alg': alg, 'hash': HASHES[hcode], 'siglen': siglen, 'len': rlen}


def ossl_verify(rec, msg, sig, what):
    with tempfile.TemporaryDirectory() as d:
        pub, dg, sg = (os.path.join(d, x) for x in ('pub.der', 'dgst', 'sig'))
        open(pub, 'wb').write(rec['spki'])
        open(dg, 'wb').write(hashlib.new(rec['hash'], msg).digest())
        if rec['alg'] == 0x27:
            h = len(sig) // 2
            sig = der(0x30, der_int(sig[:h]) + der_int(sig[h:]))
        open(sg, 'wb').write(sig)
        cmd = ['openssl', 'pkeyutl', '-verify', '-pubin', '-keyform', 'DER', '-inkey', pub,
               '-in', dg, '-sigfile', sg, '-pkeyopt', 'digest:' + rec['hash']]
        if rec['alg'] == 0x22:
            cmd += ['-pkeyopt', 'rsa_padding_mode:pss', '-pkeyopt', 'rsa_pss_saltlen:auto']
        r = subprocess.run(cmd, capture_output=True)
        if r.returncode != 0:
            raise Fail(f'{what}: openssl pkeyutl -verify failed')


def check_container(img, base, fuse, revoked):
    if base + 16 > len(img):
        raise Fail('structure: no header')
    ver, length, tag, flags, sw, fv, n, sb_off, rsv = struct.unpack_from('<BHBIHBBHH', img, base)
    if tag != 0x87 or ver != 0 or rsv != 0 or not 1 <= n <= 8 or sb_off != 16 + 128 * n:
        raise Fail('structure: container header')
    if base + length > len(img):
        raise Fail('structure: length')
    c = img[base:base + length]
    sver, slen, stag, cert_off, srk_off, sig_off, blob_off, kid = struct.unpack_from('<BHBHHHHI', c, sb_off)
    if stag != 0x90 or sver != 0 or sb_off + slen != length:
        raise Fail('structure: signature block')
    if flags & 3 != 2 or sig_off == 0 or srk_off != 0x10:
        raise Fail('signature: not signed with the OEM set')
    sb = c[sb_off:]
    # SRK table
    if sb[srk_off] != 0xD7 or sb[srk_off + 3] != 0x42:
        raise Fail('SRK table: header')
    tlen, = struct.unpack_from('<H', sb, srk_off + 1)
    table = sb[srk_off:srk_off + tlen]
    if srk_off + tlen > sig_off:
        raise Fail('SRK table: overlaps the signature')
    recs, pos = [], 4
    while pos < tlen:
        recs.append(parse_record(table[pos:], f'SRK table: record {len(recs)}'))
        pos += recs[-1]['len']
    if len(recs) != 4 or pos != tlen:
        raise Fail('SRK table: records')
    hname = 'sha512' if len(fuse) == 64 else 'sha256'
    if hashlib.new(hname, table).digest() != fuse:
        raise Fail('SRK hash: table hash differs from the fuse')
    idx = (flags >> 4) & 3
    if revoked >> idx & 1:
        raise Fail(f'SRK selection: SRK {idx} revoked')
    signer = recs[idx]
    if cert_off:
        cert = sb[cert_off:]
        cv, clen, ctag, csig, pinv, perm = struct.unpack_from('<BHBHBB', cert, 0)
        if ctag != 0xAF or cv != 0 or pinv != perm ^ 0xFF or not perm & 1:
            raise Fail('certificate: header/permissions')
        key = parse_record(cert[8:csig], 'certificate: key')
        s = cert[csig:clen]
        if s[3] != 0xD8 or struct.unpack_from('<H', s, 1)[0] != 8 + signer['siglen']:
            raise Fail('certificate: signature structure')
        ossl_verify(signer, cert[:csig], s[8:8 + signer['siglen']], 'certificate')
        signer = key
    s = sb[sig_off:]
    if s[3] != 0xD8 or struct.unpack_from('<H', s, 1)[0] != 8 + signer['siglen']:
        raise Fail('signature: signature structure')
    ossl_verify(signer, c[:sb_off + sig_off], s[8:8 + signer['siglen']], 'signature')
    # images
    for i in range(n):
        off, size, load, entry, iflags, meta = struct.unpack_from('<IIQQII', c, 16 + 128 * i)
        want = c[16 + 128 * i + 32:16 + 128 * i + 96]
        hname = HASHES.get((iflags >> 8) & 7)
        if hname is None or off < length or base + off + size > len(img):
            raise Fail(f'structure: image {i}')
        got = hashlib.new(hname, img[base + off:base + off + size]).digest()
        if want != got.ljust(64, b'\0'):
            raise Fail(f'image hash: image {i}')


def check(argv):
    img = open(argv[0], 'rb').read()
    fuse = open(argv[1], 'rb').read()
    opts = dict(zip(argv[2::2], argv[3::2]))
    revoked = int(opts.get('--revoked', '0'), 0)
    try:
        if len(fuse) not in (32, 64):
            raise Fail('SRK hash: fuse file size')
        if '--offset' in opts:
            check_container(img, int(opts['--offset'], 0), fuse, revoked)
        else:
            check_container(img, 0, fuse, revoked)
    except Fail as e:
        print(f'FAIL {e}')
        return 1
    print('OK')
    return 0


def pkcs1_sign(key, hname, msg):
    with tempfile.TemporaryDirectory() as d:
        dg = os.path.join(d, 'dgst')
        open(dg, 'wb').write(hashlib.new(hname, msg).digest())
        return subprocess.run(['openssl', 'pkeyutl', '-sign', '-inkey', key, '-in', dg,
                               '-pkeyopt', 'digest:' + hname], capture_output=True,
                              check=True).stdout


def sig_struct(sig):
    return struct.pack('<BHBI', 0, 8 + len(sig), 0xD8, 0) + sig


def expect(argv):
    src, out, table_f, srkkey, first, idx, revoke = argv[:7]
    first, idx, revoke = int(first, 0), int(idx, 0), int(revoke, 0)
    img = bytearray(open(src, 'rb').read())
    table = open(table_f, 'rb').read()
    rec0 = parse_record(table[4:], 'table')
    hname = rec0['hash']
    srk_siglen = rec0['siglen']
    flags, = struct.unpack_from('<I', img, first + 4)
    n = img[first + 11]
    sb_off = 16 + 128 * n
    cert = b''
    signkey = srkkey
    if len(argv) > 7:
        sgk_crt, sgk_key, perm = argv[7], argv[8], int(argv[9], 0)
        pub = subprocess.run(['openssl', 'x509', '-in', sgk_crt, '-noout', '-modulus'],
                             capture_output=True, check=True).stdout.decode()
        mod = bytes.fromhex(pub.strip().split('=')[1])
        rec = struct.pack('<BHBBBBBHH', 0xE1, 12 + len(mod) + 3, 0x21, table[8], table[9], 0,
                          0x80, len(mod), 3) + mod + b'\x01\x00\x01'
        body_len = align8(8 + len(rec))
        clen = body_len + 8 + srk_siglen
        body = struct.pack('<BHBHBB', 0, clen, 0xAF, body_len, perm ^ 0xFF, perm) + rec
        body = body.ljust(body_len, b'\0')
        cert = body + sig_struct(pkcs1_sign(srkkey, hname, body))
        signkey = sgk_key
    sig_len = srk_siglen  # same key size for the certificate key
    tbl_a, sig_a = align8(len(table)), align8(8 + sig_len)
    sb_len = 16 + tbl_a + sig_a + align8(len(cert))
    length = sb_off + sb_len
    sig_off = 16 + tbl_a
    cert_off = sig_off + sig_a if cert else 0
    c = bytearray(img[first:first + sb_off]) + bytearray(sb_len)
    struct.pack_into('<H', c, 1, length)
    struct.pack_into('<I', c, 4, (flags & 0xFFFF0000) | 2 | idx << 4 | revoke << 8)
    struct.pack_into('<BHBHHHHI', c, sb_off, 0, sb_len, 0x90, cert_off, 0x10, sig_off, 0, 0)
    c[sb_off + 16:sb_off + 16 + len(table)] = table
    if cert:
        c[sb_off + cert_off:sb_off + cert_off + len(cert)] = cert
    s = sig_struct(pkcs1_sign(signkey, hname, bytes(c[:sb_off + sig_off])))
    c[sb_off + sig_off:sb_off + sig_off + len(s)] = s
    img[first:first + length] = c
    open(out, 'wb').write(img)


def resign_pss(argv):
    src, out, key, salt = argv
    img = bytearray(open(src, 'rb').read())
    n = img[11]
    sb_off = 16 + 128 * n
    sig_off, = struct.unpack_from('<H', img, sb_off + 8)
    rec = parse_record(img[sb_off + 16 + 4:], 'table')
    with tempfile.TemporaryDirectory() as d:
        dg = os.path.join(d, 'dgst')
        open(dg, 'wb').write(hashlib.new(rec['hash'], bytes(img[:sb_off + sig_off])).digest())
        sig = subprocess.run(['openssl', 'pkeyutl', '-sign', '-inkey', key, '-in', dg,
                              '-pkeyopt', 'rsa_padding_mode:pss', '-pkeyopt',
                              'rsa_pss_saltlen:' + salt, '-pkeyopt', 'digest:' + rec['hash']],
                             capture_output=True, check=True).stdout
    at = sb_off + sig_off + 8
    img[at:at + len(sig)] = sig
    open(out, 'wb').write(img)


if __name__ == '__main__':
    cmd, args = sys.argv[1], sys.argv[2:]
    sys.exit({'build': build, 'check': check, 'expect': expect, 'resign-pss': resign_pss}[cmd](args) or 0)
