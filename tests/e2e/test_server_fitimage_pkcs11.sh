#!/usr/bin/env bash
# POST /sign/fitimage with backend=pkcs11 (digsigserver's HSM mode): keyname is a pkcs11:
# URI with the placeholder pin-value=password (with or without the "pkcs11:" prefix, as
# mkimage -N pkcs11 -k takes it; without object= the key-name-hint names the object). The
# server logs in with its own PIN (YUBIHSM_PASSWORD) on a SoftHSM2 token. RSA PKCS#1 v1.5
# is deterministic, so the FIT and DTB must equal mkimage -F with the same key as a file;
# the independent verifier accepts them; an ECDSA P-256 token key signs too (verified); the
# PIN is in no log or response.
set -euo pipefail
. "$BS_SRCDIR/tests/e2e/lib/common.sh"
. "$BS_SRCDIR/tests/e2e/lib/server_common.sh"
srv_setup
. "$BS_SRCDIR/tests/e2e/lib/fit.sh"
MOD=/usr/lib/softhsm/libsofthsm2.so
[ -e "$MOD" ] || fail "SoftHSM2 module $MOD missing (scripts/deps.sh test installs it)"
softhsm_token "$T/hsm" YubiHSM "$TEST_PIN"
p11() { pkcs11-tool --module "$MOD" --token-label YubiHSM --login --pin "$TEST_PIN" "$@" >/dev/null 2>&1; }
id=1
for k in dev ec256; do
	fit_key $k
	rm -f "$T/keys/imx/fitimagesign/$k.key" # the server must use the token, not a file
	openssl pkey -in "$T/mk/$k.key" -outform DER -out "$T/$k.key.der"
	openssl pkey -in "$T/mk/$k.key" -pubout -outform DER -out "$T/$k.pub.der"
	openssl x509 -in "$T/mk/$k.crt" -outform DER -out "$T/$k.crt.der"
	p11 --write-object "$T/$k.key.der" --type privkey --id "0$id" --label $k --usage-sign
	p11 --write-object "$T/$k.pub.der" --type pubkey --id "0$id" --label $k
	p11 --write-object "$T/$k.crt.der" --type cert --id "0$id" --label $k
	id=$((id + 1))
done
echo "pkcs11_module = $MOD" >> "$T/server.conf"

mkdir -p "$T/src"
cd "$T/src"
fit_inputs 200000 50000
fit_its dev.its dev sha256,rsa2048
fit_build "$T/src" dev.its dev.itb
fit_its ec.its ec256 sha256,ecdsa256
fit_build "$T/src" ec.its ec.itb
fit_oracle dev.itb m.itb u-boot.dtb m.dtb -- -r
srv_start

n=0
for uri in "pkcs11:token=YubiHSM;object=dev;pin-value=password" \
	"token=YubiHSM;object=dev;pin-value=password" "token=YubiHSM;pin-value=password"; do
	n=$((n + 1))
	code=$(curl --silent -o r$n.tgz -w '%{http_code}' -X POST -F backend=pkcs11 \
		--form-string "keyname=$uri" -F mark_required=true -F "artifact=@dev.itb" -F "dtb=@u-boot.dtb" \
		"$URL/sign/fitimage")
	[ "$code" = 200 ] || srv_fail "token signing with '$uri': $code $(head -c 300 r$n.tgz)"
	mkdir r$n && tar -C r$n -xzf r$n.tgz
	cmp r$n/fitImage m.itb && cmp r$n/u-boot.dtb m.dtb ||
		srv_fail "token-signed output ('$uri') differs from mkimage's"
	fit_verify_all r$n/fitImage r$n/u-boot.dtb
done
grep -q 'keys=.*dev' "$SRV_LOG" || srv_fail "token key id not logged"
# ECDSA P-256 on the token (raw r||s as U-Boot wants it), the object named by the hint.
code=$(curl --silent -o ec.tgz -w '%{http_code}' -X POST -F backend=pkcs11 \
	--form-string "keyname=token=YubiHSM;pin-value=password" -F "artifact=@ec.itb" \
	-F "dtb=@u-boot.dtb" "$URL/sign/fitimage")
[ "$code" = 200 ] || srv_fail "token ECDSA: $code $(head -c 300 ec.tgz)"
mkdir ec && tar -C ec -xzf ec.tgz
fit_verify_all ec/fitImage ec/u-boot.dtb

# A client PIN is refused (policy), the file backend finds no dev.key (400 naming it).
code=$(curl --silent -o bad.txt -w '%{http_code}' -X POST -F backend=pkcs11 \
	--form-string "keyname=token=YubiHSM;object=dev;pin-value=$TEST_PIN" -F "artifact=@dev.itb" \
	"$URL/sign/fitimage")
[ "$code" = 400 ] || srv_fail "client PIN: $code $(cat bad.txt)"
! grep -q -- "$TEST_PIN" bad.txt || srv_fail "response echoes the PIN"
code=$(curl --silent -o bad.txt -w '%{http_code}' -X POST -F "artifact=@dev.itb" \
	"$URL/sign/fitimage")
[ "$code" = 400 ] && grep -q "fitimagesign/dev.key" bad.txt ||
	srv_fail "missing file key: $code $(cat bad.txt)"

fit_srv_done
echo "test_server_fitimage_pkcs11: ok"
