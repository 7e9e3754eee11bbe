#!/usr/bin/env bash
# bootsign serve, POST /sign/tegra/uefi as digsigserver's recipes call it, checked by tools
# that share no code with bootsign: sbverify (sbsigntool) and osslsigncode for the
# Authenticode-signed EFI image, openssl cms -verify for the detached and the attached
# signature; each with a tampered copy the oracle rejects. File keys and a SoftHSM2 token
# (label YubiHSM, PIN from the server's environment). Bad inputs are 4xx and the server
# stays up; spool empty, no PIN in the log. Then the same signer offline (bootsign sign).
set -euo pipefail
. "$BS_SRCDIR/tests/e2e/lib/common.sh"
. "$BS_SRCDIR/tests/e2e/lib/server_common.sh"
EFI_SRC=/usr/lib/systemd/boot/efi/systemd-bootx64.efi
MOD=/usr/lib/softhsm/libsofthsm2.so
for f in "$EFI_SRC" "$MOD" /usr/bin/sbverify /usr/bin/osslsigncode; do
	[ -e "$f" ] || { echo "FAIL: $f missing (scripts/deps.sh test installs it)" >&2; exit 1; }
done
TEST_PIN=0001password
SRV_PIN=$TEST_PIN
srv_setup
C=$T/client
cp "$EFI_SRC" "$C/boot.efi"

# File keys: machine jetson (db.key + db.crt). Token: key "uefidb" with its certificate;
# machine jetson-tok keeps that certificate in the store, jetson-hsm has no store at all.
mkdir -p "$T/keys/jetson/uefisign" "$T/keys/jetson-tok/uefisign"
openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=uefi-db -days 30 \
	-keyout "$T/keys/jetson/uefisign/db.key" -out "$T/keys/jetson/uefisign/db.crt" 2>/dev/null
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=uefi-token-db \
	-days 30 -keyout "$T/tok.key" -out "$T/tok.crt" 2>/dev/null
cp "$T/tok.crt" "$T/keys/jetson-tok/uefisign/db.crt"
softhsm_token "$T/hsm" YubiHSM "$TEST_PIN"
p11() { pkcs11-tool --module "$MOD" --token-label YubiHSM --login --pin "$TEST_PIN" "$@" >/dev/null 2>&1; }
openssl pkey -in "$T/tok.key" -outform DER -out "$T/tok.key.der"
openssl pkey -in "$T/tok.key" -pubout -outform DER -out "$T/tok.pub.der"
openssl x509 -in "$T/tok.crt" -outform DER -out "$T/tok.crt.der"
p11 --write-object "$T/tok.key.der" --type privkey --id 21 --label uefidb --usage-sign
p11 --write-object "$T/tok.pub.der" --type pubkey --id 21 --label uefidb
p11 --write-object "$T/tok.crt.der" --type cert --id 21 --label uefidb
echo "pkcs11_module = $MOD" >> "$T/server.conf"
srv_start
DB=$T/keys/jetson/uefisign/db.crt
URI='pkcs11:token=YubiHSM;object=uefidb;type=private;pin-value=password'
cd "$C"

# post OUT FIELD... : POST to /sign/tegra/uefi, print the HTTP status
post() {
	local out=$1
	shift
	curl --silent -o "$out" -w '%{http_code}' -X POST "$@" "$URL/sign/tegra/uefi"
}

# sbsign_ok SIGNED CERT: both oracles accept; a flipped byte in the signed data and a
# different certificate are rejected
sbsign_ok() {
	local s=$1 cert=$2
	sbverify --cert "$cert" "$s" >/dev/null 2>&1 || srv_fail "sbverify rejected $s"
	osslsigncode verify -CAfile "$cert" -in "$s" >"$s.ossl" 2>&1 ||
		srv_fail "osslsigncode rejected $s: $(tail -5 "$s.ossl")"
	grep -q 'Signature verification: ok' "$s.ossl" || srv_fail "osslsigncode: no ok line"
	flip "$s" 4096 "$s.bad"
	! sbverify --cert "$cert" "$s.bad" >/dev/null 2>&1 || srv_fail "sbverify accepted a tampered image"
	! osslsigncode verify -CAfile "$cert" -in "$s.bad" >/dev/null 2>&1 ||
		srv_fail "osslsigncode accepted a tampered image"
	! sbverify --cert "$T/other.crt" "$s" >/dev/null 2>&1 || srv_fail "sbverify accepted another cert"
}
openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=other -days 30 -keyout "$T/other.key" \
	-out "$T/other.crt" 2>/dev/null

# cms_ok SIG CONTENT CERT: openssl cms -verify accepts over CONTENT, not over a changed copy;
# the attributes are openssl cms -sign's defaults and the certificate is included
cms_ok() {
	local sig=$1 content=$2 cert=$3
	openssl cms -verify -binary -inform DER -in "$sig" -content "$content" -CAfile "$cert" \
		-purpose any -out /dev/null 2>/dev/null || srv_fail "openssl cms -verify rejected $sig"
	flip "$content" 100 "$sig.badcontent"
	! openssl cms -verify -binary -inform DER -in "$sig" -content "$sig.badcontent" \
		-CAfile "$cert" -purpose any -out /dev/null 2>/dev/null ||
		srv_fail "openssl cms -verify accepted changed content"
	openssl cms -cmsout -print -inform DER -in "$sig" > "$sig.txt"
	local a
	for a in contentType signingTime messageDigest "S/MIME Capabilities"; do
		grep -q "object: $a" "$sig.txt" || srv_fail "$sig lacks the $a attribute"
	done
	grep -q 'eContent: <ABSENT>' "$sig.txt" || srv_fail "$sig is not detached"
	grep -q 'certificates:' "$sig.txt" || srv_fail "$sig carries no certificate"
}

# --- sbsign, file key -------------------------------------------------------------------
code=$(post signed.efi -F machine=jetson -F signing_type=sbsign -F artifact=@boot.efi)
[ "$code" = 200 ] || srv_fail "sbsign: $code $(head -c 300 signed.efi)"
sbsign_ok signed.efi "$DB"
AUTH=$(osslsigncode verify -CAfile "$DB" -in signed.efi | sed -n 's/^Calculated message digest *: *\([0-9A-F]*\).*/\1/p' |
	tr 'A-F' 'a-f')
[ -n "$AUTH" ] || srv_fail "osslsigncode printed no digest"
grep -q "signed=sha256:$AUTH" "$SRV_LOG" || srv_fail "the Authenticode digest $AUTH is not in the job record"
# signing the signed image adds a second signature (as sbsign does); both verify
code=$(post twice.efi -F machine=jetson -F signing_type=sbsign -F artifact=@signed.efi)
[ "$code" = 200 ] || srv_fail "re-sign: $code $(head -c 300 twice.efi)"
# (osslsigncode reads only one WIN_CERTIFICATE, for sbsign's output as for ours: sbverify)
sbverify --cert "$DB" twice.efi >/dev/null 2>&1 || srv_fail "sbverify rejected twice.efi"
flip twice.efi 4096 twice.bad
! sbverify --cert "$DB" twice.bad >/dev/null 2>&1 || srv_fail "sbverify accepted tampered twice.efi"
grep -q 'already carries 1 signature' "$SRV_LOG" || srv_fail "re-signing not logged"

# --- signature and attach_signature, file key ----------------------------------------
code=$(post boot.sig -F machine=jetson -F signing_type=signature -F artifact=@boot.efi)
[ "$code" = 200 ] || srv_fail "signature: $code $(head -c 300 boot.sig)"
cms_ok boot.sig boot.efi "$DB"
for f in boot.efi aligned.bin; do
	[ "$f" = aligned.bin ] && head -c 4096 boot.efi > aligned.bin
	code=$(post "$f.signed" -F machine=jetson -F signing_type=attach_signature -F "artifact=@$f")
	[ "$code" = 200 ] || srv_fail "attach_signature $f: $code $(head -c 300 "$f.signed")"
	size=$(stat -c %s "$f")
	padded=$(( (size + 2047) / 2048 * 2048 ))
	cp "$f" "$f.padded"
	truncate -s "$padded" "$f.padded"
	head -c "$padded" "$f.signed" | cmp -s - "$f.padded" || srv_fail "$f: not padded to 2048"
	tail -c +$((padded + 1)) "$f.signed" > "$f.sig"
	cms_ok "$f.sig" "$f" "$DB"
done

# --- token key ---------------------------------------------------------------------------
for m in jetson-tok jetson-hsm; do
	code=$(post "tok-$m.efi" -F machine=$m -F signing_type=sbsign -F backend=pkcs11 \
		--form-string "key-uri=$URI" -F artifact=@boot.efi)
	[ "$code" = 200 ] || srv_fail "sbsign pkcs11 $m: $code $(head -c 300 "tok-$m.efi")"
	sbsign_ok "tok-$m.efi" "$T/tok.crt"
	code=$(post "tok-$m.sig" -F machine=$m -F signing_type=signature -F backend=pkcs11 \
		--form-string "key-uri=$URI" -F artifact=@boot.efi)
	[ "$code" = 200 ] || srv_fail "signature pkcs11 $m: $code $(head -c 300 "tok-$m.sig")"
	cms_ok "tok-$m.sig" boot.efi "$T/tok.crt"
done

# --- bad inputs: 4xx naming the problem, server stays up ----------------------------------
head -c 3000 /dev/urandom > random.bin
printf 'MZ but nothing else' > mz.bin
head -c 1000 boot.efi > truncated.efi
expect() { # expect CODE NEEDLE FIELD...
	local want=$1 needle=$2
	shift 2
	code=$(post body.txt "$@")
	[ "$code" = "$want" ] || srv_fail "expected $want for $*: $code $(cat body.txt)"
	grep -q -- "$needle" body.txt || srv_fail "answer for $* lacks '$needle': $(cat body.txt)"
}
expect 400 'artifact.*not a PE image' -F machine=jetson -F signing_type=sbsign -F artifact=@random.bin
expect 400 'artifact.*PE' -F machine=jetson -F signing_type=sbsign -F artifact=@mz.bin
expect 400 'artifact.*PE' -F machine=jetson -F signing_type=sbsign -F artifact=@truncated.efi
expect 400 'signing_type' -F machine=jetson -F signing_type=pesign -F artifact=@boot.efi
expect 400 'signing_type' -F machine=jetson -F artifact=@boot.efi
expect 404 "no keys for 'nokeys'" -F machine=nokeys -F signing_type=sbsign -F artifact=@boot.efi
# imx8mp has a store (imxsign/) but no uefisign/ keys
expect 404 'imx8mp/uefisign/db.key' -F machine=imx8mp -F signing_type=sbsign -F artifact=@boot.efi
expect 404 'imx8mp/uefisign/db.key' -F machine=imx8mp -F signing_type=signature -F artifact=@boot.efi
mkdir -p "$T/keys/imx8mp/uefisign"
cp "$T/keys/jetson/uefisign/db.key" "$T/keys/imx8mp/uefisign/db.key"
expect 404 'imx8mp/uefisign/db.crt' -F machine=imx8mp -F signing_type=sbsign -F artifact=@boot.efi
cp "$T/other.crt" "$T/keys/imx8mp/uefisign/db.crt"
expect 500 'request id' -F machine=imx8mp -F signing_type=sbsign -F artifact=@boot.efi
grep -q 'imx8mp/uefisign/db.crt does not match' "$SRV_LOG" || srv_fail "key/cert mismatch not logged"
expect 400 'key-uri' -F machine=jetson -F signing_type=sbsign -F backend=pkcs11 -F artifact=@boot.efi
expect 400 'key-uri' -F machine=jetson -F signing_type=sbsign --form-string "key-uri=$URI" -F artifact=@boot.efi
expect 400 'pin' -F machine=jetson-tok -F signing_type=sbsign -F backend=pkcs11 \
	--form-string "key-uri=${URI/pin-value=password/pin-value=$TEST_PIN}" -F artifact=@boot.efi
expect 400 'machine' -F machine=../jetson -F signing_type=sbsign -F artifact=@boot.efi
srv_healthy
srv_spool_empty
! grep -q -- "$TEST_PIN" "$SRV_LOG" || srv_fail "server log contains the PIN"
srv_stop

# --- offline: the same signer through bootsign sign ---------------------------------------
"$BS_BIN" sign tegra/uefi --keys "$T/keys" --machine jetson --field signing_type=sbsign \
	boot.efi -o cli.efi || fail "bootsign sign tegra/uefi failed"
sbsign_ok cli.efi "$DB"
"$BS_BIN" sign tegra/uefi --keys "$T/keys" --machine jetson --field signing_type=signature \
	boot.efi -o cli.sig || fail "bootsign sign tegra/uefi signature failed"
cms_ok cli.sig boot.efi "$DB"
(umask 077 && printf '%s\n' "$TEST_PIN" > "$T/pin")
"$BS_BIN" sign tegra/uefi --keys "$T/keys" --machine jetson-hsm --field signing_type=sbsign \
	--field backend=pkcs11 --field "key-uri=$URI" --pin-file "$T/pin" --module "$MOD" \
	boot.efi -o cli-tok.efi || fail "bootsign sign tegra/uefi with a token key failed"
sbsign_ok cli-tok.efi "$T/tok.crt"
! "$BS_BIN" sign tegra/uefi --keys "$T/keys" --machine jetson --field signing_type=sbsign \
	random.bin -o cli-bad.efi 2>cli.err || fail "offline sbsign accepted a non-PE file"
grep -q "not a PE image" cli.err || fail "offline error lacks the reason: $(cat cli.err)"
[ ! -e cli-bad.efi ] || fail "a failed offline run left an output file"
echo "test_server_uefi: ok"
