#!/usr/bin/env python3
"""Independent check of an OP-TEE signed TA (<uuid>.ta), written from OP-TEE's
signed_hdr.h layout with the Python standard library only (no bootsign code):

  shdr: <IIIIHH magic, img_type, img_size, algo, hash_size, sig_size
  hash[hash_size], sig[sig_size], uuid[16], ta_version <I, image[img_size]

Checks magic 0x4f545348, img_type 1 (bootstrap TA), algo 0x70414930 (RSASSA-PSS
MGF1-SHA256), hash_size 32, sig_size = expected, exact file length, the UUID against the
file name, the version, the image against the original, and recomputes
SHA-256(shdr || uuid || version || image). Writes the hash and the signature to files for
`openssl pkeyutl -verify`.

usage: optee_check.py TA ORIGINAL_IMAGE VERSION SIG_SIZE HASH_OUT SIG_OUT
"""
import hashlib
import os
import struct
import sys
import uuid


def main():
    ta, orig, version, sig_size, hash_out, sig_out = sys.argv[1:7]
    data = open(ta, 'rb').read()
    img = open(orig, 'rb').read()
    magic, img_type, img_size, algo, hash_size, sig_len = struct.unpack('<IIIIHH', data[:20])
    errors = []
    if magic != 0x4f545348:
        errors.append('magic 0x%08x' % magic)
    if img_type != 1:
        errors.append('img_type %d' % img_type)
    if algo != 0x70414930:
        errors.append('algo 0x%08x' % algo)
    if hash_size != 32:
        errors.append('hash_size %d' % hash_size)
    if sig_len != int(sig_size):
        errors.append('sig_size %d' % sig_len)
    if len(data) != 20 + hash_size + sig_len + 20 + img_size:
        errors.append('length %d for img_size %d' % (len(data), img_size))
    if errors:
        sys.exit('%s: %s' % (ta, ', '.join(errors)))
    digest = data[20:20 + hash_size]
    sig = data[20 + hash_size:20 + hash_size + sig_len]
    boot = 20 + hash_size + sig_len
    ta_uuid, ta_version = struct.unpack('<16sI', data[boot:boot + 20])
    image = data[boot + 20:]
    name = os.path.basename(ta)[:-len('.ta')]
    if ta_uuid != uuid.UUID(name).bytes:
        errors.append('uuid %s does not match the name' % uuid.UUID(bytes=ta_uuid))
    if ta_version != int(version, 0):
        errors.append('version %d, expected %s' % (ta_version, version))
    if image != img:
        errors.append('image differs from the original')
    h = hashlib.sha256(data[:20] + data[boot:boot + 20] + image).digest()
    if h != digest:
        errors.append('digest does not match header, UUID, version and image')
    if errors:
        sys.exit('%s: %s' % (ta, ', '.join(errors)))
    open(hash_out, 'wb').write(digest)
    open(sig_out, 'wb').write(sig)


if __name__ == '__main__':
    main()
