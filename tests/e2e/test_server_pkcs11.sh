#!/usr/bin/env bash
# bootsign serve, backend=pkcs11 as digsigserver's HSM mode: the CSF names token objects
# with the placeholder pin-value=password, the server logs in with its own PIN
# (YUBIHSM_PASSWORD) on a SoftHSM2 token whose keys were imported with pkcs11-tool. The
# result verifies; client PINs and module choices are refused; the PIN is never logged.
set -euo pipefail
. "$BS_SRCDIR/tests/e2e/lib/server_common.sh"
srv_setup
MOD=/usr/lib/softhsm/libsofthsm2.so
[ -e "$MOD" ] || { echo "FAIL: SoftHSM2 module $MOD missing (scripts/deps.sh test installs it)" >&2; exit 1; }
. "$BS_SRCDIR/tests/e2e/lib/common.sh"
softhsm_token "$T/hsm" YubiHSM "$TEST_PIN"
softhsm_import "$MOD" YubiHSM "$TEST_PIN" 01 CSF1 "$FIX/keys/CSF1_key.pem" "$FIX/crts/CSF1_crt.pem" ||
	srv_fail "token import"
softhsm_import "$MOD" YubiHSM "$TEST_PIN" 02 IMG1 "$FIX/keys/IMG1_key.pem" "$FIX/crts/IMG1_crt.pem" ||
	srv_fail "token import"
echo "pkcs11_module = $MOD" >> "$T/server.conf"
srv_start

cd "$T/client"
sed -e 's#"crts/CSF1_crt.pem"#"pkcs11:token=YubiHSM;object=CSF1;type=cert;pin-value=password"#' \
    -e 's#"crts/IMG1_crt.pem"#"pkcs11:token=YubiHSM;object=IMG1;type=cert;pin-value=password"#' \
	flash.csf > hsm.csf
grep -q pkcs11: hsm.csf || srv_fail "test CSF not rewritten"
code=$(curl --silent -o csf.bin -w '%{http_code}' -X POST -F machine=imx8mp -F soctype=mx8m \
	-F cstversion=3.3.2 -F backend=pkcs11 -F "csf=@hsm.csf;type=text/plain" \
	-F "artifact=@imx-boot-sd.bin" "$URL/sign/imx")
[ "$code" = 200 ] || srv_fail "pkcs11 signing: $code $(head -c 300 csf.bin)"
verify_blob "$T/client/csf.bin" "$T/client/imx-boot-sd.bin" "$T/v1"
grep -q 'keys=.*CSF1' "$SRV_LOG" || srv_fail "token key ids not logged"

# Client-chosen PINs, PIN sources and modules are refused (400, policy).
for bad in "pin-value=$TEST_PIN" "pin-source=/etc/passwd" "module-path=/tmp/evil.so"; do
	sed "s#type=cert;pin-value=password#type=cert;$bad#" hsm.csf > bad.csf
	code=$(curl --silent -o body.txt -w '%{http_code}' -X POST -F machine=imx8mp \
		-F soctype=mx8m -F cstversion=3.3.2 -F backend=pkcs11 \
		-F "csf=@bad.csf;type=text/plain" -F "artifact=@imx-boot-sd.bin" "$URL/sign/imx")
	[ "$code" = 400 ] || srv_fail "URI with $bad: $code"
	grep -q 'hsm.csf\|bad.csf' body.txt || srv_fail "policy message lacks the CSF position: $(cat body.txt)"
done
# A token object that does not exist.
sed 's#object=IMG1#object=NOPE#' hsm.csf > nope.csf
code=$(curl --silent -o body.txt -w '%{http_code}' -X POST -F machine=imx8mp -F soctype=mx8m \
	-F cstversion=3.3.2 -F backend=pkcs11 -F "csf=@nope.csf;type=text/plain" \
	-F "artifact=@imx-boot-sd.bin" "$URL/sign/imx")
case "$code" in 400) ;; *) srv_fail "missing token object: $code $(cat body.txt)";; esac

srv_healthy
srv_spool_empty
srv_log_clean
srv_stop

# A wrong server PIN: 500 "server configuration error" with a request id, and the
# detail (wrong PIN, not retried) is in the log, not in the response.
SRV_PIN=wrong-pin-4711 srv_start
for i in 1 2 3; do
	code=$(curl --silent -o body.txt -w '%{http_code}' -X POST -F machine=imx8mp \
		-F soctype=mx8m -F cstversion=3.3.2 -F backend=pkcs11 \
		-F "csf=@hsm.csf;type=text/plain" -F "artifact=@imx-boot-sd.bin" "$URL/sign/imx")
	[ "$code" = 500 ] || srv_fail "wrong PIN: $code $(cat body.txt)"
	grep -q '^server configuration error (request id [0-9a-f]*)$' body.txt ||
		srv_fail "wrong PIN body: $(cat body.txt)"
done
grep -q "login failed: wrong PIN" "$SRV_LOG" || srv_fail "no log detail for the wrong PIN"
! grep -q wrong-pin-4711 "$SRV_LOG" || srv_fail "wrong PIN logged"
# file-backed signing is unaffected
curl --silent --fail -X POST -F machine=imx8mp -F soctype=mx8m -F cstversion=3.3.2 \
	-F "csf=@flash.csf;type=text/plain" -F "artifact=@imx-boot-sd.bin" --output f.bin \
	"$URL/sign/imx" || srv_fail "ssl backend broken by a token failure"
srv_stop
echo "test_server_pkcs11: ok"
