#!/bin/bash
# `bootsign hab sign -b pkcs11` (the cst -b pkcs11 drop-in) against a private SoftHSM2
# token: the CST vector CSF and image keys are imported with pkcs11-tool, the CSF names
# them by pkcs11: URI (with pin-value, as cst users write it, or with --pin-file), and the
# result must be byte-identical to cst's u_csf.bin outside the CMS blobs, verify with
# `bootsign hab verify` once inserted in the image, and pass openssl cms -verify.
set -euo pipefail

: "${BS_BIN:?}" "${BS_FIXTURES:?}" "${BS_SRCDIR:?}"
. "$BS_SRCDIR/tests/e2e/lib/common.sh"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
V=$BS_FIXTURES/hab4-vectors/rsa
MOD=/usr/lib/softhsm/libsofthsm2.so
[ -e "$MOD" ] || { echo "FAIL: SoftHSM2 module $MOD missing (scripts/deps.sh test installs it)" >&2; exit 1; }

PIN=4711pin
softhsm_token "$T" hab "$PIN"
imp() { # NAME ID
	openssl pkey -in "$V/keys/$1_key.pem" -outform DER -out "$T/$1.key.der"
	openssl x509 -in "$V/crts/$1_crt.pem" -outform DER -out "$T/$1.crt.der"
	pkcs11-tool --module "$MOD" --token-label hab --login --pin "$PIN" \
		--write-object "$T/$1.key.der" --type privkey --label "$1" --id "$2" > /dev/null
	pkcs11-tool --module "$MOD" --token-label hab --login --pin "$PIN" \
		--write-object "$T/$1.crt.der" --type cert --label "$1" --id "$2" > /dev/null
	rm -f "$T/$1.key.der"
}
imp CSF1 01
imp IMG1 02

cp -r "$V" "$T/rsa"
cd "$T/rsa"
uri() { echo "pkcs11:token=hab;object=$1;type=cert$2"; }
sed -e "s|\"crts/CSF1_crt.pem\"|\"$(uri CSF1 ";pin-value=$PIN")\"|" \
	-e "s|\"crts/IMG1_crt.pem\"|\"$(uri IMG1 ";pin-value=$PIN")\"|" u.csf > p11.csf
sed -e "s|\"crts/CSF1_crt.pem\"|\"$(uri CSF1 "")\"|" \
	-e "s|\"crts/IMG1_crt.pem\"|\"$(uri IMG1 "")\"|" u.csf > p11nopin.csf
printf '%s\n' "$PIN" > "$T/pin.txt"
chmod 600 "$T/pin.txt"

check() { # CSFBLOB
	cmp -n $((0x48)) "$1" u_csf.bin || fail "$1: command region differs from cst"
	cmp <(tail -c +$((0x48 + 1)) "$1" | head -c $((0xa88 - 0x48))) \
		<(tail -c +$((0x48 + 1)) u_csf.bin | head -c $((0xa88 - 0x48))) ||
		fail "$1: SRK table / certificates differ from cst"
	cp u.bin "$T/img.bin"
	dd if="$1" of="$T/img.bin" bs=1 seek=$((0x2000)) conv=notrunc status=none
	truncate -s $((0x3000)) "$T/img.bin"
	"$BS_BIN" hab verify -q --fuse crts/SRK_fuse.bin "$T/img.bin" || fail "$1: hab verify"
	head -c $((0x2000)) u.bin > "$T/data.bin"
	tail -c +$((0xa88 + 5)) "$1" | head -c 483 > "$T/imgsig.der"
	openssl cms -verify -binary -inform DER -in "$T/imgsig.der" -content "$T/data.bin" \
		-noverify -certfile crts/IMG1_crt.pem -out /dev/null 2>/dev/null ||
		fail "$1: openssl cms -verify (image)"
}

echo "== pin-value in the URIs (cst style)"
"$BS_BIN" hab sign -b pkcs11 --module "$MOD" -i p11.csf -o "$T/a.bin" || fail "sign (pin-value)"
check "$T/a.bin"
echo "== --pin-file, module from PKCS11_MODULE_PATH"
PKCS11_MODULE_PATH=$MOD "$BS_BIN" hab sign --backend pkcs11 --pin-file "$T/pin.txt" \
	-i p11nopin.csf -o "$T/b.bin" || fail "sign (--pin-file)"
check "$T/b.bin"
echo "== errors"
rc=0
"$BS_BIN" hab sign -b pkcs11 --module "$MOD" -i p11nopin.csf -o "$T/c.bin" 2> "$T/err" || rc=$?
[ "$rc" = 1 ] && grep -q "no PIN" "$T/err" || fail "missing PIN: rc $rc $(cat "$T/err")"
printf 'Zq9badpin\n' > "$T/bad.txt"
chmod 600 "$T/bad.txt"
rc=0
"$BS_BIN" hab sign -b pkcs11 --module "$MOD" --pin-file "$T/bad.txt" -i p11nopin.csf \
	-o "$T/d.bin" 2> "$T/err" || rc=$?
[ "$rc" = 1 ] && grep -q "^bootsign hab sign: " "$T/err" || fail "wrong PIN: rc $rc"
grep -q Zq9badpin "$T/err" && fail "the PIN appears in the error message: $(cat "$T/err")"
sed 's|object=IMG1|object=IMG9|' p11nopin.csf > missing.csf
rc=0
"$BS_BIN" hab sign -b pkcs11 --module "$MOD" --pin-file "$T/pin.txt" -i missing.csf \
	-o "$T/e.bin" 2> "$T/err" || rc=$?
[ "$rc" = 1 ] && grep -q "IMG9" "$T/err" || fail "missing object: rc $rc $(cat "$T/err")"
for f in c d e; do [ ! -e "$T/$f.bin" ] || fail "output $f.bin left behind"; done
echo "PASS"
