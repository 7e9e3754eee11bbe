#!/bin/bash
# `bootsign pki create`: file mode checked with the openssl CLI and srktool, failure
# behaviour, and token mode against a private SoftHSM2 token (checked with pkcs11-tool).
set -euo pipefail

: "${BS_BIN:?}" "${BS_SRCDIR:?}"
. "$BS_SRCDIR/tests/e2e/lib/common.sh"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
cd "$T"
mode() { stat -c %a "$1"; }

# --- file mode, RSA-2048, 4 SRKs, passphrase from a file ---------------------------------
printf 'e2e-secret-pass\n' > pass.txt
chmod 600 pass.txt
"$BS_BIN" pki create --out pki --key rsa2048 --days 400 --pass-file pass.txt 2> progress.log
grep -q 'generating SRK4_sha256_2048_65537_v3_ca' progress.log || fail "no progress lines"
C=pki/crts K=pki/keys N=sha256_2048_65537
[ "$(mode pki)" = 700 ] || fail "pki dir mode $(mode pki)"
[ "$(mode $K)" = 700 ] || fail "keys dir mode"
[ "$(head -n1 $K/key_pass.txt)" = e2e-secret-pass ] || fail "key_pass.txt content"
for f in $K/*; do [ "$(mode "$f")" = 600 ] || fail "$f mode $(mode "$f")"; done
[ "$(mode pki/imx-cst-keys.tar.gz)" = 600 ] || fail "bundle mode"
[ "$(ls $K/*_key.pem | wc -l)" = 13 ] || fail "expected 13 PEM keys"
[ "$(ls $K/*_key.der | wc -l)" = 13 ] || fail "expected 13 DER keys"

CA=$C/CA1_${N}_v3_ca_crt.pem
for i in 1 2 3 4; do
	SRK=$C/SRK${i}_${N}_v3_ca_crt.pem
	openssl verify -CAfile "$CA" "$SRK" >/dev/null || fail "SRK$i chain"
	for r in CSF IMG; do
		crt=$C/${r}${i}_1_${N}_v3_usr_crt.pem
		openssl verify -CAfile "$CA" -untrusted "$SRK" "$crt" >/dev/null || fail "$r$i chain"
		# the DER copy is the same certificate
		cmp <(openssl x509 -in "$crt" -outform DER) "${crt%.pem}.der" || fail "$r$i DER copy"
		# the key matches the certificate and decrypts only with the passphrase
		key=$K/${r}${i}_1_${N}_v3_usr_key.pem
		[ "$(openssl pkey -in "$key" -passin file:pass.txt -pubout | openssl sha256)" = \
		  "$(openssl x509 -in "$crt" -noout -pubkey | openssl sha256)" ] || fail "$r$i key"
		if openssl pkey -in "$key" -passin pass:wrong-pass -noout 2>/dev/null; then
			fail "$r$i key decrypts with a wrong passphrase"
		fi
	done
	# CSF2 is not issued by SRK1
	if [ "$i" = 2 ] && openssl verify -CAfile "$CA" -untrusted $C/SRK1_${N}_v3_ca_crt.pem \
		$C/CSF2_1_${N}_v3_usr_crt.pem >/dev/null 2>&1; then
		fail "CSF2 verifies under SRK1"
	fi
done
openssl asn1parse -in $K/CA1_${N}_v3_ca_key.pem | grep -q PBES2 || fail "key not PBES2"
openssl asn1parse -in $K/CA1_${N}_v3_ca_key.pem | grep -q aes-256-cbc || fail "not AES-256-CBC"
if openssl pkey -in $K/CA1_${N}_v3_ca_key.pem -passin pass: -noout 2>/dev/null; then
	fail "key readable without a passphrase"
fi

# extensions, as openssl prints them
ext() { openssl x509 -in "$1" -noout -text; }
ext "$CA" | grep -A1 'Basic Constraints: critical' | grep -q 'CA:TRUE' || fail "CA bc"
ext $C/SRK1_${N}_v3_ca_crt.pem | grep -A1 'Key Usage: critical' | grep -q 'Certificate Sign' \
	|| fail "SRK ku"
ext $C/SRK1_${N}_v3_ca_crt.pem | grep -q 'Authority Key Identifier' || fail "SRK aki"
U=$C/IMG3_1_${N}_v3_usr_crt.pem
ext "$U" | grep -A1 'Basic Constraints' | grep -q 'CA:FALSE' || fail "usr bc"
ext "$U" | grep -A1 'Key Usage: critical' | grep -q 'Digital Signature' || fail "usr ku"
ext "$U" | grep -q 'Subject Key Identifier' || fail "usr ski"
ext "$U" | grep -q 'Certificate Sign' && fail "usr may sign certificates"
ext "$U" | grep -q 'Subject: CN = IMG3_1_sha256_2048_65537_v3_usr' || fail "usr subject"
ext "$U" | grep -q 'Issuer: CN = SRK3_sha256_2048_65537_v3_ca' || fail "usr issuer"
# validity: 400 days
nb=$(date -d "$(openssl x509 -in "$U" -noout -startdate | cut -d= -f2)" +%s)
na=$(date -d "$(openssl x509 -in "$U" -noout -enddate | cut -d= -f2)" +%s)
[ $(( (na - nb) / 86400 )) = 400 ] || fail "validity $(( (na - nb) / 86400 )) days"

# the SRK table and fuse equal srktool's for the same certificates
srktool -h 4 -t tbl.bin -e fuse.bin -d sha256 -f 1 \
	-c $C/SRK1_${N}_v3_ca_crt.pem,$C/SRK2_${N}_v3_ca_crt.pem,$C/SRK3_${N}_v3_ca_crt.pem,$C/SRK4_${N}_v3_ca_crt.pem \
	>/dev/null
cmp tbl.bin $C/SRK_1_2_3_4_table.bin || fail "SRK table differs from srktool"
cmp fuse.bin $C/SRK_1_2_3_4_fuse.bin || fail "SRK fuse differs from srktool"

# the server bundle holds what signing needs, never the root of trust (issue 10)
tar -tzf pki/imx-cst-keys.tar.gz | sort > members.txt
! grep -E '(^|/)keys/(SRK|CA)' members.txt || fail "bundle holds SRK/CA keys: $(cat members.txt)"
grep -qx "keys/key_pass.txt" members.txt || fail "bundle lacks key_pass.txt"
grep -qx "keys/CSF1_1_${N}_v3_usr_key.pem" members.txt || fail "bundle lacks the CSF key"
grep -qx "keys/IMG4_1_${N}_v3_usr_key.der" members.txt || fail "bundle lacks an IMG key"
grep -qx "crts/SRK_1_2_3_4_table.bin" members.txt || fail "bundle lacks the SRK table"
[ "$(grep -c '^keys/' members.txt)" = 17 ] || fail "keys: $(grep '^keys/' members.txt)"
mkdir unpacked
tar -xzf pki/imx-cst-keys.tar.gz -C unpacked
diff -r unpacked/crts $C >/dev/null || fail "bundle crts differ"
for f in unpacked/keys/*; do cmp "$f" "$K/$(basename "$f")" || fail "bundle key $f differs"; done
# pki bundle makes the same from a whole CST tree (the tree digsigserver's guide tars)
"$BS_BIN" pki bundle --from pki --out clean.tar.gz > bundle.out || fail "pki bundle"
grep -q "11 files left out" bundle.out || fail "pki bundle: $(cat bundle.out)"
tar -tzf clean.tar.gz | sort | diff - members.txt || fail "pki bundle members differ"
[ "$(stat -c %a clean.tar.gz)" = 600 ] || fail "bundle mode"
if "$BS_BIN" pki bundle --from pki --out clean.tar.gz 2>err.txt; then fail "overwrote"; fi
rc=0; "$BS_BIN" pki bundle --from nowhere --out x.tar.gz 2>/dev/null || rc=$?
[ "$rc" = 2 ] && [ ! -e x.tar.gz ] || fail "missing tree: exit $rc"
rm -f err.txt

# --- EC P-384, 2 SRKs, generated passphrase, no bundle ---------------------------------
"$BS_BIN" pki create --out ec --key p384 --srks 2 --no-tgz 2>/dev/null
[ ! -e ec/imx-cst-keys.tar.gz ] || fail "--no-tgz wrote a bundle"
[ "$(head -n1 ec/keys/key_pass.txt | wc -c)" = 49 ] || fail "generated passphrase length"
E=ec/crts/SRK2_sha256_secp384r1_v3_ca_crt.pem
openssl x509 -in "$E" -noout -text | grep -q 'NIST CURVE: P-384' || fail "P-384 key"
openssl verify -CAfile ec/crts/CA1_sha256_secp384r1_v3_ca_crt.pem -untrusted "$E" \
	ec/crts/IMG2_1_sha256_secp384r1_v3_usr_crt.pem >/dev/null || fail "EC chain"
srktool -h 4 -t etbl.bin -e efuse.bin -d sha256 -f 1 \
	-c ec/crts/SRK1_sha256_secp384r1_v3_ca_crt.pem,$E >/dev/null
cmp etbl.bin ec/crts/SRK_1_2_table.bin || fail "EC SRK table differs from srktool"
cmp efuse.bin ec/crts/SRK_1_2_fuse.bin || fail "EC SRK fuse differs from srktool"

# --- failures leave nothing behind ------------------------------------------------------
before=$(ls -A | sort)
if "$BS_BIN" pki create --out pki 2>err.txt; then fail "overwrote a PKI"; fi
grep -q 'not empty' err.txt || fail "wrong message: $(cat err.txt)"
if "$BS_BIN" pki create --out new --srks 5 2>/dev/null; then fail "--srks 5 accepted"; fi
if "$BS_BIN" pki create --out new --key rsa1024 2>/dev/null; then fail "rsa1024 accepted"; fi
if "$BS_BIN" pki create --out new --pass-file missing.txt 2>/dev/null; then
	fail "missing pass file accepted"
fi
: > empty.txt
chmod 600 empty.txt
if "$BS_BIN" pki create --out new --pass-file empty.txt 2>/dev/null; then
	fail "empty pass file accepted"
fi
printf 'e2e-open-pass\n' > open.txt
chmod 640 open.txt
if "$BS_BIN" pki create --out new --pass-file open.txt 2>err.txt; then
	fail "group-readable pass file accepted"
fi
grep -q 'open.txt has mode 0640' err.txt || fail "mode refusal: $(cat err.txt)"
grep -q e2e-open-pass err.txt && fail "the passphrase appears in the message"
if "$BS_BIN" pki create --out no/such/parent/x 2>/dev/null; then fail "missing parent"; fi
rm -f err.txt empty.txt open.txt
[ "$(ls -A | sort)" = "$(echo "$before" | grep -v '^err.txt$' | grep -v '^empty.txt$')" ] \
	|| fail "a failed run left files: $(ls -A)"

# --- token mode (SoftHSM2) -------------------------------------------------------------
if [ -n "${BS_PKI_SKIP_TOKEN:-}" ]; then
	echo "token mode skipped"
	echo PASS
	exit 0
fi
softhsm_token "$T/hsm" YubiHSM 0001password
MOD=/usr/lib/softhsm/libsofthsm2.so
printf '0001password' > pin.txt
chmod 600 pin.txt
URI='pkcs11:token=YubiHSM'
# a wrong PIN is a configuration error, and leaves no directory behind
printf 'wrong-pin' > badpin.txt
chmod 600 badpin.txt
if "$BS_BIN" pki create --out badtok --key p256 --srks 1 --token "$URI" --module "$MOD" \
	--pin-file badpin.txt 2> badtok.log; then
	fail "wrong PIN accepted"
fi
grep -q '(config)' badtok.log || fail "wrong PIN: $(cat badtok.log)"
grep -q wrong-pin badtok.log && fail "PIN appears in the output"
[ -z "$(ls -d badtok badtok.tmp* 2>/dev/null)" ] || fail "wrong PIN left a directory"
if ! "$BS_BIN" pki create --out tok --key p256 --srks 2 --token "$URI" --module "$MOD" \
	--pin-file pin.txt 2> tok.log; then
	cat tok.log >&2
	fail "token mode failed"
fi
grep -q 0001password tok.log && fail "PIN appears in the output"
[ ! -e tok/keys ] || fail "token mode wrote keys/"
TC=tok/crts
openssl verify -CAfile $TC/CA1_sha256_prime256v1_v3_ca_crt.pem \
	-untrusted $TC/SRK2_sha256_prime256v1_v3_ca_crt.pem \
	$TC/CSF2_1_sha256_prime256v1_v3_usr_crt.pem >/dev/null || fail "token chain"
srktool -h 4 -t ttbl.bin -e tfuse.bin -d sha256 -f 1 \
	-c $TC/SRK1_sha256_prime256v1_v3_ca_crt.pem,$TC/SRK2_sha256_prime256v1_v3_ca_crt.pem \
	>/dev/null
cmp ttbl.bin $TC/SRK_1_2_table.bin || fail "token SRK table differs from srktool"
cmp tfuse.bin $TC/SRK_1_2_fuse.bin || fail "token SRK fuse differs from srktool"
pkcs11-tool --module "$MOD" --token-label YubiHSM --login --pin 0001password -O \
	> objects.txt 2>/dev/null
# 7 private keys (CA, 2 SRK, 2 CSF, 2 IMG), all sensitive and not extractable
[ "$(grep -c '^Private Key Object' objects.txt)" = 7 ] || fail "private key objects"
[ "$(grep -c '^Certificate Object' objects.txt)" = 7 ] || fail "certificate objects"
awk '/^Private Key Object/{p=1} /^(Public Key|Certificate|Data) Object/{p=0}
     p && /Access:/ && (!/sensitive/ || !/never extractable/) {bad=1}
     END{exit bad}' objects.txt || fail "a token key is extractable"
grep -A6 '^Private Key Object' objects.txt | grep -q 'label:.*CSF1_1_sha256_prime256v1_v3_usr' \
	|| fail "CSF1 key label"
# the certificate on the token is the one in crts/
pkcs11-tool --module "$MOD" --token-label YubiHSM --read-object --type cert \
	--label CSF1_1_sha256_prime256v1_v3_usr -o tokcsf.der >/dev/null 2>&1
cmp tokcsf.der $TC/CSF1_1_sha256_prime256v1_v3_usr_crt.der || fail "token cert differs"

# sign with the token keys and verify against the fuse
. "$BS_SRCDIR/tests/e2e/lib/hab4.sh"
cd tok
hab4_image image.bin
hab4_csf_text crts/SRK_1_2_table.bin \
	"pkcs11:token=YubiHSM;object=CSF1_1_sha256_prime256v1_v3_usr;type=cert" \
	"pkcs11:token=YubiHSM;object=IMG1_1_sha256_prime256v1_v3_usr;type=cert" image.bin > csf.txt
"$BS_BIN" hab sign -b pkcs11 --module "$MOD" --pin-file ../pin.txt -i csf.txt -o csf.bin \
	2> sign.log || fail "token signing: $(cat sign.log)"
cp image.bin signed.bin
dd if=csf.bin of=signed.bin bs=1 seek=$HAB4_CSF conv=notrunc status=none
"$BS_BIN" hab verify --fuse crts/SRK_1_2_fuse.bin signed.bin > verify.log 2>&1 ||
	fail "token-signed image does not verify: $(cat verify.log)"
echo "token mode: keys non-extractable, SRK table = srktool, token-signed image verifies"
cd ..
echo PASS
