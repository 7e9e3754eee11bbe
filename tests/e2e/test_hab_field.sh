#!/bin/bash
# The HAB4 field cases (tests/fixtures/hab-field, from ../shared/cases/hab-field): each
# input as users wrote it, run through the real binary, with the right answer asserted:
# chain mistakes refused at signing time (and named by the verifier when a blob is made
# anyway with --allow-unbootable), RSA-PSS refused by `srk -h 4` before any file is
# written, the field name the user wrote in range errors.
set -euo pipefail

: "${BS_BIN:?}" "${BS_SRCDIR:?}"
. "$BS_SRCDIR/tests/e2e/lib/common.sh"
F=$BS_SRCDIR/tests/fixtures/hab-field
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

# expect_err RC NEEDLE CMD...: CMD exits RC and its stderr contains NEEDLE (fixed string)
expect_err() {
	local want=$1 needle=$2 rc=0
	shift 2
	"$@" > "$T/out" 2> "$T/err" || rc=$?
	[ "$rc" = "$want" ] || fail "$* exited $rc (want $want): $(cat "$T/err")"
	grep -qF -- "$needle" "$T/err" || fail "$*: stderr lacks '$needle': $(cat "$T/err")"
}

# put CSFBLOB IMAGE OFFSET OUT: the image with the CSF blob written at OFFSET
put() {
	cp "$2" "$4"
	chmod u+w "$4"
	dd if="$1" of="$4" bs=1 seek=$(($3)) conv=notrunc status=none
}

# --- fastauth-nocak ----------------------------------------------------------------------
cd "$F/fastauth-nocak"
"$BS_BIN" hab sign -i a.csf -o "$T/a.bin"
put "$T/a.bin" spl.bin 0xC000 "$T/a_signed.bin"
"$BS_BIN" hab verify --fuse fa/crts/SRK_1_2_3_4_fuse.bin "$T/a_signed.bin" > /dev/null ||
	fail "fastauth a.csf does not verify"

expect_err 1 'b.csf:12:1: [Install NOCAK]: certificate "fa/crts/SRK2_sha256_2048_65537_v3_usr_crt.pem": fast authentication signs with the selected SRK entry'"'"'s own key, but this certificate is not SRK 0'"'"'s (it holds SRK 1'"'"'s key)' \
	"$BS_BIN" hab sign -i b.csf -o "$T/b.bin"
[ ! -e "$T/b.bin" ] || fail "refused b.csf left an output"
expect_err 1 'b.csf:12:1: [Install NOCAK]' "$BS_BIN" hab sign --strict -i b.csf -o "$T/b.bin"
"$BS_BIN" hab sign --allow-unbootable -i b.csf -o "$T/b.bin"
put "$T/b.bin" spl.bin 0xC000 "$T/b_signed.bin"
expect_err 1 "CSF signature does not verify with SRK 0 (Source index = 0): it is made with SRK 1's key; in fast authentication the [Install NOCAK] certificate must be the selected SRK entry's" \
	"$BS_BIN" hab verify --fuse fa/crts/SRK_1_2_3_4_fuse.bin "$T/b_signed.bin"

expect_err 1 'c.csf:12:1: [Install NOCAK]: certificate "ca/crts/SRK1_sha256_2048_65537_v3_ca_crt.pem": fast authentication needs non-CA SRKs, but SRK 0 carries the CA flag' \
	"$BS_BIN" hab sign -i c.csf -o "$T/c.bin"
[ ! -e "$T/c.bin" ] || fail "refused c.csf left an output"
"$BS_BIN" hab sign --allow-unbootable -i c.csf -o "$T/c.bin"
put "$T/c.bin" spl.bin 0xC000 "$T/c_signed.bin"
expect_err 1 "CSF: Authenticate CSF without a CSFK: fast authentication needs non-CA SRKs, but SRK 0 carries the CA flag (HAB answers HAB_INV_KEY)" \
	"$BS_BIN" hab verify --fuse ca/crts/SRK_1_2_3_4_fuse.bin "$T/c_signed.bin"
for x in d e; do
	expect_err 1 "$x.csf:" "$BS_BIN" hab sign -i $x.csf -o "$T/$x.bin"
	[ ! -e "$T/$x.bin" ] || fail "refused $x.csf left an output"
done

# --- rsa-pss ---------------------------------------------------------------------------
cd "$F/rsa-pss"
C=p/crts
expect_err 1 "certificate 1: HAB4 cannot use RSA-PSS keys or signatures (they are for AHAB)" \
	"$BS_BIN" srk -h 4 -t "$T/pss_table.bin" -e "$T/pss_fuse.bin" -d sha256 \
	-c "$C/SRK1_sha256_2048_65537_v3_ca_crt.pem,$C/SRK2_sha256_2048_65537_v3_ca_crt.pem,$C/SRK3_sha256_2048_65537_v3_ca_crt.pem,$C/SRK4_sha256_2048_65537_v3_ca_crt.pem"
[ ! -e "$T/pss_table.bin" ] && [ ! -e "$T/pss_fuse.bin" ] || fail "srk wrote files for PSS"
expect_err 1 'csf.txt:9:1: [Install SRK]: SRK table "p/crts/SRK_1_2_3_4_table.bin": SRK table entry 0 (SRK1) is an RSA-PSS key: HAB4 cannot use RSA-PSS keys or signatures (they are for AHAB)' \
	"$BS_BIN" hab sign -i csf.txt -o "$T/pss.bin"
[ ! -e "$T/pss.bin" ] || fail "refused PSS CSF left an output"

# --- srk-index-msg ----------------------------------------------------------------------
cd "$F/srk-index-msg"
expect_err 1 "c-srkidx.csf:11:18: 'Source Index' = 4 is out of range; expected 0 to 3" \
	"$BS_BIN" hab sign -i c-srkidx.csf -o "$T/idx.bin"

# --- bootdata-1byte: the boot data is asserted over 12 bytes on i.MX8M, 1 on i.MX6/7 ------
cd "$F/bootdata-1byte"
BFUSE=pki/crts/SRK_1_2_3_4_fuse.bin
for c in short three nodcd; do
	"$BS_BIN" hab sign -i $c.csf -o "$T/$c.bin"
	put "$T/$c.bin" img.bin 0xC000 "$T/${c}_signed.bin"
done
expect_err 1 "coverage: boot data [0x87800420+0xc] is not inside one authenticated block" \
	"$BS_BIN" hab verify --fuse "$BFUSE" "$T/short_signed.bin"
expect_err 1 "coverage: boot data [0x87800420+0xc]" \
	"$BS_BIN" hab verify --soc imx8mp --fuse "$BFUSE" "$T/short_signed.bin"
"$BS_BIN" hab verify --soc mx6 --fuse "$BFUSE" "$T/short_signed.bin" > /dev/null ||
	fail "short.csf on i.MX6 (1 byte asserted)"
"$BS_BIN" hab verify --soc i.MX7D --fuse "$BFUSE" "$T/short_signed.bin" > /dev/null ||
	fail "short.csf on i.MX7D"
for soc in mx8m mx6ull; do
	"$BS_BIN" hab verify --soc $soc --fuse "$BFUSE" "$T/three_signed.bin" > /dev/null ||
		fail "three.csf on $soc"
	# nodcd.csf leaves the DCD out: named on every SoC
	expect_err 1 "coverage: DCD [0x8780042c+0x14] is not inside one authenticated block" \
		"$BS_BIN" hab verify --soc $soc --fuse "$BFUSE" "$T/nodcd_signed.bin"
done
expect_err 2 "unknown soctype 'mx99' (known: mx6, mx6q," \
	"$BS_BIN" hab verify --soc mx99 --fuse "$BFUSE" "$T/three_signed.bin"
expect_err 2 "that SoC boots with AHAB, not HAB4" \
	"$BS_BIN" hab verify --soc mx93 --fuse "$BFUSE" "$T/three_signed.bin"
# an SRK table whose selected record says RSA-PSS (0x22), with a fuse that matches it: the
# verifier names the key type as the cause
python3 - "$T/three_signed.bin" "$T/pss_signed.bin" "$T/pss_fuse.bin" <<'PY'
import hashlib, struct, sys
d = bytearray(open(sys.argv[1], 'rb').read())
csf = 0xC000
assert d[csf + 4] == 0xBE and d[csf + 8] == 0x03          # Install SRK
t = csf + struct.unpack('>I', d[csf + 12:csf + 16])[0]
assert d[t] == 0xD7 and d[t + 4] == 0xE1 and d[t + 7] == 0x21
d[t + 7] = 0x22
tlen = struct.unpack('>H', d[t + 1:t + 3])[0]
p, h = t + 4, b''
while p < t + tlen:
    n = struct.unpack('>H', d[p + 1:p + 3])[0]
    h += hashlib.sha256(d[p:p + n]).digest()
    p += n
open(sys.argv[2], 'wb').write(d)
open(sys.argv[3], 'wb').write(hashlib.sha256(h).digest())
PY
expect_err 1 "SRK: SRK table entry 0 (SRK1) is an RSA-PSS key: HAB4 cannot use RSA-PSS keys or signatures (they are for AHAB)" \
	"$BS_BIN" hab verify --fuse "$T/pss_fuse.bin" "$T/pss_signed.bin"
# a block reaching into the CSF is named as such
sed 's/0x87801000 0x1000 0xB000/0x87801000 0x1000 0xB100/' nodcd.csf > "$T/over.csf"
cd "$T" && ln -s "$F/bootdata-1byte/pki" pki && cp "$F/bootdata-1byte/img.bin" img.bin
"$BS_BIN" hab sign -i over.csf -o over.bin
put over.bin img.bin 0xC000 over_signed.bin
expect_err 1 "block 0 [0x87801000+0xb100] overlaps the CSF at 0x8780c000 (the CSF cannot sign itself)" \
	"$BS_BIN" hab verify --fuse "$BFUSE" over_signed.bin
sed 's/0x87800400 0x400 0x2C "img.bin"/0x87800400 0x400 0x2C "img.bin", \\\n 0x87800500 0x500 0 "img.bin"/' \
	"$F/bootdata-1byte/three.csf" > zero.csf
expect_err 1 'zero.csf:21:2: block 1 at 0x87800500 has length 0 (a zero-length block authenticates nothing)' \
	"$BS_BIN" hab sign -i zero.csf -o zero.bin
[ ! -e zero.bin ] || fail "zero-length block: output left"
"$BS_BIN" hab sign --allow-unbootable -i zero.csf -o zero.bin
put zero.bin img.bin 0xC000 zero_signed.bin
expect_err 1 "block 1 [0x87800500+0] is empty (zero length)" \
	"$BS_BIN" hab verify --fuse "$BFUSE" zero_signed.bin

# --- imx8m-flash-spl-fit: a whole flash.bin, SPL and FIT signed in two steps -------------
# mkimg.py lays out U-Boot's mx8m flash.bin (SPL IVT at 0, FIT IVT at 0x58c00 with
# boot_data = 0); the PKI is bootdata-1byte's.
mkdir "$T/fl"
cd "$T/fl"
ln -s "$F/bootdata-1byte/pki" pki
python3 "$F/imx8m-flash-spl-fit/mkimg.py" flash.bin > layout.txt
grep -q "spl_csf_off 0x306f0 fit_ivt_off 0x58c00 fit_csf_off 0x58c20" layout.txt ||
	fail "mkimg.py layout: $(cat layout.txt)"
FUSE=pki/crts/SRK_1_2_3_4_fuse.bin
csf_text() { # BLOCKS...
	printf '[Header]\nVersion = 4.3\nHash Algorithm = sha256\nEngine = CAAM\n'
	printf 'Engine Configuration = 0\nCertificate Format = X509\nSignature Format = CMS\n'
	printf '[Install SRK]\nFile = "pki/crts/SRK_1_2_3_4_table.bin"\nSource index = 0\n'
	printf '[Install CSFK]\nFile = "pki/crts/CSF1_1_sha256_2048_65537_v3_usr_crt.pem"\n'
	printf '[Authenticate CSF]\n[Install Key]\nVerification index = 0\nTarget Index = 2\n'
	printf 'File = "pki/crts/IMG1_1_sha256_2048_65537_v3_usr_crt.pem"\n'
	printf '[Authenticate Data]\nVerification index = 2\nBlocks = %s\n' "$1"
}
csf_text '0x7e0fc0 0x0 0x306f0 "flash.bin"' > spl.csf
csf_text '0x401fcdc0 0x57c00 0x1020 "flash.bin", 0x40200000 0x5ac00 0xa0000 "flash.bin", 0x920000 0xfac00 0x9000 "flash.bin", 0x402a0000 0x103c00 0x8000 "flash.bin"' > fit.csf
"$BS_BIN" hab sign -i spl.csf -o spl_csf.bin
"$BS_BIN" hab sign -i fit.csf -o fit_csf.bin
put spl_csf.bin flash.bin 0x306f0 half.bin
# only the SPL's CSF: the FIT's IVT is not signed, so the file does not verify
rc=0
"$BS_BIN" hab verify --fuse "$FUSE" half.bin > half.out 2> half.err || rc=$?
[ "$rc" = 1 ] || fail "half-signed flash.bin: exit $rc: $(cat half.out half.err)"
grep -qx "IVT at 0x0: OK" half.out || fail "SPL IVT not OK: $(cat half.out)"
grep -q "^IVT at 0x58c00: not signed: the CSF area at file offset 0x58c20 (0x401fdde0) is empty$" half.out ||
	fail "FIT IVT not reported unsigned: $(cat half.out)"
grep -q "IVT at 0x58c00: not signed" half.err || fail "stderr: $(cat half.err)"
# both CSFs: every IVT verifies, once the verifier knows where SPL loads the FIT parts
# from (U-Boot, ATF, DTB sit at load addresses unrelated to the FIT IVT's base)
put fit_csf.bin half.bin 0x58c20 full.bin
rc=0
"$BS_BIN" hab verify --fuse "$FUSE" full.bin > nomap.out 2>&1 || rc=$?
[ "$rc" = 1 ] && grep -q "^IVT at 0x58c00: Authenticate Data key 2: block 2 \[0x00920000+0x9000\] outside the image .*--blocks CSF.txt)$" nomap.out ||
	fail "FIT without --blocks: exit $rc: $(cat nomap.out)"
"$BS_BIN" hab verify --fuse "$FUSE" --blocks fit.csf full.bin > full.out ||
	fail "flash.bin: $(cat full.out)"
[ "$(grep -c '^IVT at 0x[0-9a-f]*: OK$' full.out)" = 2 ] || fail "two OK lines: $(cat full.out)"
# --ivt-offset still picks one; the FIT IVT (boot_data = 0) verifies on its own
"$BS_BIN" hab verify --fuse "$FUSE" --blocks fit.csf --ivt-offset 0x58c00 full.bin > fit.out ||
	fail "FIT IVT alone: $(cat fit.out)"
grep -qx "IVT at 0x58c00: OK" fit.out || fail "FIT IVT line: $(cat fit.out)"
"$BS_BIN" hab verify --fuse "$FUSE" --ivt-offset 0x58c00 half.bin > /dev/null 2>&1 &&
	fail "unsigned FIT IVT verified"
# dump --image lists every IVT and both CSFs; on the half image, the FIT IVT unsigned
"$BS_BIN" hab dump --image full.bin > dump.out || fail "dump --image: $(cat dump.out)"
[ "$(grep -c '^IVT at file offset' dump.out)" = 2 ] || fail "dump: $(cat dump.out)"
[ "$(grep -c '^CSF at file offset' dump.out)" = 2 ] || fail "dump CSFs: $(cat dump.out)"
grep -q "Boot data: none (boot_data = 0" dump.out || fail "dump: FIT boot data"
"$BS_BIN" hab dump --image half.bin > dump2.out || fail "dump --image half: $(cat dump2.out)"
grep -q "not signed: the CSF area at file offset 0x58c20 is empty" dump2.out ||
	fail "dump half: $(cat dump2.out)"
"$BS_BIN" hab dump --image flash.bin > dump3.out || fail "dump --image unsigned"
[ "$(grep -c 'not signed' dump3.out)" = 2 ] || fail "dump unsigned: $(cat dump3.out)"
# a signed image given to dump without --image: the hint
expect_err 1 "full.bin is not a CSF blob: it is an image with an IVT at 0x0; use --image" \
	"$BS_BIN" hab dump full.bin
# tampering the FIT's U-Boot part fails only the FIT IVT
flip full.bin $((0x5ac00 + 100)) bad.bin
rc=0
"$BS_BIN" hab verify --fuse "$FUSE" --blocks fit.csf bad.bin > bad.out 2>&1 || rc=$?
[ "$rc" = 1 ] && grep -qx "IVT at 0x0: OK" bad.out &&
	grep -q "^IVT at 0x58c00: Authenticate Data key 2: signature does not verify" bad.out ||
	fail "tampered FIT: exit $rc: $(cat bad.out)"

# fit.bin alone (mk.py): the FIT IVT with boot_data = 0, signed with csf_fit.txt's blocks
mkdir "$T/fit" && cd "$T/fit"
ln -s "$F/bootdata-1byte/pki" pki
cp "$F/imx8m-flash-spl-fit/fit.bin" fit.bin
chmod u+w fit.bin
"$BS_BIN" hab sign -i "$F/imx8m-flash-spl-fit/csf_fit.txt" -o fit_csf.bin
put fit_csf.bin fit.bin 0x1020 fit_signed.bin
"$BS_BIN" hab verify --fuse pki/crts/SRK_1_2_3_4_fuse.bin --ivt-offset 0x1000 \
	--blocks "$F/imx8m-flash-spl-fit/csf_fit.txt" fit_signed.bin \
	> fit.out || fail "fit.bin: $(cat fit.out)"
"$BS_BIN" hab dump --image --ivt-offset 0x1000 fit_signed.bin > /dev/null || fail "fit.bin dump"

# --- token-typo: a token label the module does not have is named, with the ones it has ----
mkdir "$T/tt" && cd "$T/tt"
ln -s "$F/bootdata-1byte/pki/crts" crts
softhsm_token "$T/tt" YubiHSM password
cp "$F/token-typo/c-wrongtoken.csf" .
expect_err 1 "c-wrongtoken.csf:14:3: token 'YubiHsm' not present: the PKCS#11 module has no token with that label (tokens: 'YubiHSM')" \
	"$BS_BIN" hab sign -b pkcs11 --module /usr/lib/softhsm/libsofthsm2.so \
	-i c-wrongtoken.csf -o "$T/tt.bin"
[ ! -e "$T/tt.bin" ] || fail "token typo left an output"

echo "hab-field: all cases pass"
