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

echo "hab-field: all cases pass"
