#!/bin/bash
# `bootsign hab sign|verify|dump` CLI over the NXP CST 4.0.1 vectors:
#  - verify: exit 0 on u_signed.bin, 1 naming the check on tampering / wrong fuse /
#    revocation, 2 on usage errors; dump lists the fuse hash srktool wrote;
#  - sign (cst drop-in): u.csf signed in the vector tree gives the command region and
#    every non-CMS blob byte-identical to cst's u_csf.bin; inserted into u.bin it
#    verifies; openssl cms -verify accepts both signatures over the exact bytes; same
#    with --keys DIR and --keys bundle.tar.gz; a failure leaves no output file;
#  - a 256 MiB sparse image signed and verified with bounded memory (streaming).
set -euo pipefail

: "${BS_BIN:?}" "${BS_FIXTURES:?}" "${BS_SRCDIR:?}"
. "$BS_SRCDIR/tests/e2e/lib/common.sh"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
V=$BS_FIXTURES/hab4-vectors/rsa
FUSE=$V/crts/SRK_fuse.bin

# expect_rc RC PATTERN CMD...: CMD exits RC and its output matches PATTERN
expect_rc() {
	local want=$1 pat=$2 rc=0
	shift 2
	"$@" > "$T/out.txt" 2>&1 || rc=$?
	[ "$rc" = "$want" ] || fail "$*: exit $rc, expected $want: $(cat "$T/out.txt")"
	[ -z "$pat" ] || grep -Eq -- "$pat" "$T/out.txt" || fail "$*: output lacks '$pat': $(cat "$T/out.txt")"
}

echo "== verify / dump"
expect_rc 0 "^OK: " "$BS_BIN" hab verify --fuse "$FUSE" "$V/u_signed.bin"
grep -q "^ok    SRK table hash matches fuse" "$T/out.txt" || fail "no per-check lines"
expect_rc 0 "" "$BS_BIN" hab verify -q --fuse "$FUSE" --ivt-offset 0 "$V/u_signed.bin"
[ ! -s "$T/out.txt" ] || fail "-q printed: $(cat "$T/out.txt")"
expect_rc 1 "SRK: index 0 is revoked" "$BS_BIN" hab verify --fuse "$FUSE" --revoked 1 \
	"$V/u_signed.bin"
flip "$FUSE" 3 "$T/badfuse.bin"
expect_rc 1 "SRK: table hash does not match fuse" "$BS_BIN" hab verify --fuse "$T/badfuse.bin" \
	"$V/u_signed.bin"
flip "$V/u_signed.bin" $((0x1800)) "$T/bad.bin"
expect_rc 1 "Authenticate Data key 2: signature does not verify" \
	"$BS_BIN" hab verify --fuse "$FUSE" "$T/bad.bin"
flip "$V/u_signed.bin" $((0x2000 + 0x40)) "$T/bad.bin"
expect_rc 1 "CSF signature does not verify" "$BS_BIN" hab verify --fuse "$FUSE" "$T/bad.bin"
expect_rc 2 "fuse is required" "$BS_BIN" hab verify "$V/u_signed.bin"
expect_rc 2 "bad number" "$BS_BIN" hab verify --fuse "$FUSE" --revoked 0x10 "$V/u_signed.bin"
expect_rc 2 "usage" "$BS_BIN" hab verify --fuse "$FUSE" --bogus "$V/u_signed.bin"
expect_rc 2 "No such file" "$BS_BIN" hab verify --fuse "$FUSE" "$T/missing.bin"
# exit codes agree: 2 for unreadable inputs (image, fuse, dump input), 1 for a failed check
expect_rc 2 "fuse file" "$BS_BIN" hab verify --fuse "$T/nofuse.bin" "$V/u_signed.bin"
expect_rc 2 "No such file" "$BS_BIN" hab dump --image "$T/missing.bin"
expect_rc 2 "No such file" "$BS_BIN" hab dump "$T/missing.bin"
expect_rc 2 "No such file" "$BS_BIN" srk --print-fuse "$T/nofuse.bin"
for sub in sign verify dump; do
	expect_rc 0 "^usage: bootsign hab $sub" "$BS_BIN" hab "$sub" --help
done
expect_rc 2 "unknown command" "$BS_BIN" hab frobnicate

fusehex=$(od -An -tx1 "$FUSE" | tr -d ' \n')
expect_rc 0 "fuse hash \(SHA256\): $fusehex" "$BS_BIN" hab dump --image "$V/u_signed.bin"
grep -q "subject: CN = CSF1" "$T/out.txt" || fail "dump: no CSFK subject"
for f in a_csf.bin b_csf.bin d.bin nxp.bin nocak/n.bin; do
	expect_rc 0 "fuse hash" "$BS_BIN" hab dump "$V/$f"
done
expect_rc 1 "CSF: header" "$BS_BIN" hab dump "$V/img.bin"

echo "== sign (cst drop-in, working-directory names)"
cp -r "$V" "$T/rsa"
cd "$T/rsa"
# cmp_csf NEW: command region and every non-CMS blob equal to cst's u_csf.bin
cmp_csf() {
	cmp -n $((0x48)) "$1" u_csf.bin || fail "$1: command region differs from cst"
	cmp -n $((0xa88 - 0x48)) <(tail -c +$((0x48 + 1)) "$1") \
		<(tail -c +$((0x48 + 1)) u_csf.bin) || fail "$1: SRK table / certificates differ"
	[ "$(stat -c %s "$1")" = "$(stat -c %s u_csf.bin)" ] || fail "$1: length differs"
}
# image NEW OUT: u.bin with the CSF at 0x2000, padded to 0x3000 (as u_signed.bin)
image() {
	cp u.bin "$2"
	dd if="$1" of="$2" bs=1 seek=$((0x2000)) conv=notrunc status=none
	truncate -s $((0x3000)) "$2"
}
expect_rc 0 "" "$BS_BIN" hab sign -i u.csf -o "$T/u1.bin" --signing-time 1700000000
cmp_csf "$T/u1.bin"
image "$T/u1.bin" "$T/img1.bin"
expect_rc 0 "^OK: " "$BS_BIN" hab verify --fuse "$FUSE" "$T/img1.bin"
# the same with cst's long options abbreviated as old scripts write them
expect_rc 0 "" "$BS_BIN" hab sign --i u.csf --o "$T/u2.bin" -b ssl
cmp_csf "$T/u2.bin"
# independent oracle: openssl cms over the exact bytes
head -c $((0x48)) "$T/u1.bin" > "$T/cmds.bin"
tail -c +$((0xc70 + 5)) "$T/u1.bin" | head -c 483 > "$T/csfsig.der"
tail -c +$((0xa88 + 5)) "$T/u1.bin" | head -c 483 > "$T/imgsig.der"
openssl cms -verify -binary -inform DER -in "$T/csfsig.der" -content "$T/cmds.bin" -noverify \
	-certfile crts/CSF1_crt.pem -out /dev/null 2>/dev/null || fail "openssl: CSF signature"
head -c $((0x2000)) u.bin > "$T/data.bin"
openssl cms -verify -binary -inform DER -in "$T/imgsig.der" -content "$T/data.bin" -noverify \
	-certfile crts/IMG1_crt.pem -out /dev/null 2>/dev/null || fail "openssl: image signature"

echo "== sign --keys DIR / bundle"
tar czf "$T/keys.tar.gz" crts keys
expect_rc 0 "" "$BS_BIN" hab sign --keys "$T/keys.tar.gz" -i u.csf -o "$T/u3.bin"
cmp_csf "$T/u3.bin"
expect_rc 0 "" "$BS_BIN" hab sign --keys . -i u.csf -o "$T/u4.bin"
cmp_csf "$T/u4.bin"
sed 's|"crts/CSF1_crt.pem"|"../rsa/crts/CSF1_crt.pem"|' u.csf > escape.csf
expect_rc 1 "^bootsign hab sign: " "$BS_BIN" hab sign --keys . -i escape.csf -o "$T/u5.bin"
[ ! -e "$T/u5.bin" ] || fail "output left behind after a failure"

echo "== sign errors and warnings"
sed 's|CSF1_crt.pem|CSF9_crt.pem|' u.csf > missing.csf
expect_rc 1 "^bootsign hab sign: .*CSF9" "$BS_BIN" hab sign -i missing.csf -o "$T/u6.bin"
[ -z "$(ls "$T" | grep u6)" ] || fail "output or temp file left behind"
printf '[Header]\n    Version = 4.1\n[NOP]\n    Engine = ANY\n' > warn.csf
sed -n '/\[Install SRK\]/,$p' u.csf >> warn.csf
expect_rc 0 "^warn.csf:4:[0-9]+: warning: " "$BS_BIN" hab sign -i warn.csf -o "$T/u7.bin"
expect_rc 1 "not supported" "$BS_BIN" hab sign -i u.csf -o "$T/u8.bin" -d dek.bin
expect_rc 2 "-i and -o are required" "$BS_BIN" hab sign -i u.csf
expect_rc 0 "bootsign" "$BS_BIN" hab sign -v

echo "== streaming: 256 MiB image"
SZ=$((256 << 20))
python3 - "$T/big.bin" "$SZ" <<'EOF'
import struct, sys
path, size = sys.argv[1], int(sys.argv[2])
base = 0x80000000
csf = size - 0x2000
with open(path, 'wb') as f:
    f.write(bytes([0xD1, 0, 0x20, 0x41]) + struct.pack('<7I', base + 0x1000, 0, 0, base + 0x20,
                                                           base, base + csf, 0))
    f.write(struct.pack('<3I', base, size, 0))
    f.truncate(size)
EOF
sed -e 's|0x87800000 0x0 0x2000 "u.bin"|0x80000000 0x0 '$((SZ - 0x2000))' "'"$T"'/big.bin"|' \
	u.csf > big.csf
/usr/bin/time -f "%M" -o "$T/rss_sign" "$BS_BIN" hab sign -i big.csf -o "$T/big_csf.bin" ||
	fail "sign big"
dd if="$T/big_csf.bin" of="$T/big.bin" bs=1 seek=$((SZ - 0x2000)) conv=notrunc status=none
/usr/bin/time -f "%M" -o "$T/rss_verify" "$BS_BIN" hab verify -q --fuse "$FUSE" "$T/big.bin" ||
	fail "verify big"
echo "peak RSS: sign $(cat "$T/rss_sign") KiB, verify $(cat "$T/rss_verify") KiB"
[ "$(cat "$T/rss_verify")" -lt $((128 * 1024)) ] || fail "verify used too much memory"
[ "$(cat "$T/rss_sign")" -lt $((128 * 1024)) ] || fail "sign used too much memory"
echo "PASS"
