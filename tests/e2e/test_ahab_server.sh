#!/usr/bin/env bash
# e2e: POST /sign/imx with an AHAB CSF and an AHAB soctype answers the whole signed image
# (streamed from the job's file sink). Checked with bootsign's verifier, the independent
# verifier in lib/ahab.py (hashlib + openssl pkeyutl), and byte-compared with the CLI
# (`bootsign hab sign`, RSA PKCS#1 v1.5 is deterministic). File keys from the machine's
# CST bundle, and token keys in a SoftHSM2 token (label YubiHSM, PIN 0001password, given
# to the server as YUBIHSM_PASSWORD) named by pkcs11: URIs with pin-value=password.
# AHAB CSF + HAB4 soctype and HAB4 CSF + AHAB soctype are 400s.
set -euo pipefail
. "$BS_SRCDIR/tests/e2e/lib/server_common.sh"
H="python3 $BS_SRCDIR/tests/e2e/lib/ahab.py"
TEST_PIN=0001password
SRV_PIN=$TEST_PIN
srv_setup
MOD=/usr/lib/softhsm/libsofthsm2.so
[ -e "$MOD" ] || srv_fail "SoftHSM2 module $MOD missing (scripts/deps.sh test installs it)"
P=$T/pki
mkdir -p "$P/crts" "$P/keys" "$T/keys/imx93/imxsign"
for i in 1 2 3 4; do
	n=SRK${i}_sha256_2048_65537_v3_ca
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$P/keys/${n}_key.pem" \
		-out "$P/crts/${n}_crt.pem" -subj "/CN=SRK$i" -days 30 2>/dev/null
	n=SRK${i}_p256
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$P/keys/${n}_key.pem" -out "$P/crts/${n}_crt.pem" -subj "/CN=E$i" -days 30 2>/dev/null
done
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$P/keys/SGK_key.pem" \
	-out "$P/crts/SGK_crt.pem" -subj /CN=SGK -days 30 2>/dev/null
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$P/keys/SGK1_1_sha256_2048_65537_v3_usr_key.pem" \
	-out "$P/crts/SGK1_1_sha256_2048_65537_v3_usr_crt.pem" -subj /CN=SGK1 -days 30 2>/dev/null
(cd "$P" && "$BS_BIN" srk -a 1 -s sha256 -d sha256 -t crts/rsa.tbl -e crts/rsa.fuse \
	-c crts/SRK1_sha256_2048_65537_v3_ca_crt.pem,crts/SRK2_sha256_2048_65537_v3_ca_crt.pem,crts/SRK3_sha256_2048_65537_v3_ca_crt.pem,crts/SRK4_sha256_2048_65537_v3_ca_crt.pem >/dev/null
 "$BS_BIN" srk -a 1 -s sha256 -d sha256 -t crts/ec.tbl -e crts/ec.fuse \
	-c crts/SRK1_p256_crt.pem,crts/SRK2_p256_crt.pem,crts/SRK3_p256_crt.pem,crts/SRK4_p256_crt.pem >/dev/null)
# The SRK signs the certificate once, here (offline): the server never loads SRK keys.
cat > "$P/cert.csf" <<'X'
[Header]
Target = AHAB
Version = 1.0
[Install SRK]
File = "crts/rsa.tbl"
Source = "crts/SRK1_sha256_2048_65537_v3_ca_crt.pem"
Source Index = 0
Source Set = OEM
Revocations = 0x0
[Install Certificate]
File = "crts/SGK1_1_sha256_2048_65537_v3_usr_crt.pem"
Permissions = 0x1
[Authenticate Data]
File = "flash.bin"
Offsets = 0 0x110
X
(cd "$P" && "$BS_BIN" hab sign --ahab-cert-signature -i cert.csf -o crts/SGK1_cert_sig.bin >/dev/null) ||
	srv_fail "certificate signature"
# the server's bundle: crts/ and the non-root keys only
"$BS_BIN" pki bundle --from "$P" --out "$T/keys/imx93/imxsign/imx-cst-keys.tar.gz" >/dev/null 2>&1 ||
	srv_fail "pki bundle"
tar -tzf "$T/keys/imx93/imxsign/imx-cst-keys.tar.gz" | grep -q 'keys/SRK1' && srv_fail "bundle holds SRK keys"

# token: SRK2 (P-256) and the SGK
. "$BS_SRCDIR/tests/e2e/lib/common.sh"
softhsm_token "$T/hsm" YubiHSM "$TEST_PIN"
softhsm_import "$MOD" YubiHSM "$TEST_PIN" 01 SRK2_p256 "$P/keys/SRK2_p256_key.pem" "$P/crts/SRK2_p256_crt.pem" ||
	srv_fail "token import"
softhsm_import "$MOD" YubiHSM "$TEST_PIN" 02 SGK "$P/keys/SGK_key.pem" "$P/crts/SGK_crt.pem" ||
	srv_fail "token import"
echo "pkcs11_module = $MOD" >> "$T/server.conf"
srv_start

cd "$T/client"
$H build flash.bin
sed 's#^Offsets = .*#Offsets = 0 0x110#' "$P/cert.csf" > ahab.csf
printf 'Signature = "crts/SGK1_cert_sig.bin"\n' > sig.line
awk -v l="$(cat sig.line)" '{print} /^Permissions/{print l}' ahab.csf > a && mv a ahab.csf
grep -q '^Signature = ' ahab.csf || srv_fail "CSF not built"
post() { # out soctype csf [backend]
	curl --silent -o "$1" -w '%{http_code}' -X POST -F machine=imx93 -F "soctype=$2" \
		-F cstversion=4.0.1 -F "backend=${4:-ssl}" -F "csf=@$3;type=text/plain" \
		-F "artifact=@flash.bin" "$URL/sign/imx"
}
code=$(post signed.bin mx93 ahab.csf)
[ "$code" = 200 ] || srv_fail "AHAB signing: $code $(head -c 300 signed.bin)"
"$BS_BIN" ahab verify -q --fuse "$P/crts/rsa.fuse" signed.bin > /dev/null || srv_fail "bootsign verify"
[ "$($H check signed.bin "$P/crts/rsa.fuse")" = OK ] || srv_fail "independent verify: $($H check signed.bin "$P/crts/rsa.fuse")"
(cd "$P" && cp "$T/client/flash.bin" . && "$BS_BIN" hab sign -i "$T/client/ahab.csf" -o cli.bin >/dev/null) || srv_fail "CLI signing"
cmp -s signed.bin "$P/cli.bin" || srv_fail "server output differs from the CLI's"
echo "ok: file keys (certificate key + pre-made certificate signature, no SRK key on the server): signed image verifies (both verifiers) and equals the CLI's"
"$BS_BIN" sign imx --keys "$T/keys" --machine imx93 --field soctype=mx93 --field cstversion=4.0.1 \
	--field csf=@ahab.csf -o offline.bin flash.bin 2> offline.err || srv_fail "bootsign sign imx: $(cat offline.err)"
cmp -s signed.bin offline.bin || srv_fail "bootsign sign imx (offline job) differs from the server's answer"
echo "ok: bootsign sign imx (the same signer offline) gives the same image"
# bootsign client imx: the same request from the client, the answer (the signed image)
# verified against the fuse before it is written; a wrong fuse writes nothing
"$BS_BIN" client imx --server "$URL" --machine imx93 --soctype mx93 --cstversion 4.0.1 \
	--csf ahab.csf --fuse "$P/crts/rsa.fuse" -o client.bin flash.bin 2> client.err ||
	srv_fail "bootsign client imx (AHAB): $(cat client.err)"
cmp -s signed.bin client.bin || srv_fail "client output differs from the server's answer"
if "$BS_BIN" client imx --server "$URL" --machine imx93 --soctype mx93 --cstversion 4.0.1 \
	--csf ahab.csf --fuse "$P/crts/ec.fuse" -o wrong.bin flash.bin 2> wrong.err; then
	srv_fail "client wrote an image that does not verify against the fuse"
fi
grep -q "does not verify" wrong.err && [ ! -e wrong.bin ] || srv_fail "wrong fuse: $(cat wrong.err)"
echo "ok: bootsign client imx signs an AHAB image and verifies it before writing"
grep -q 'AHAB container' "$SRV_LOG" || grep -q 'digest' "$SRV_LOG" || echo "note: digest not in log line"

# token keys: SRK2 (index 1) from the token, certificate key (SGK) from the token
awk '/^\[Install Certificate\]/{skip=3} skip>0{skip--; next} /^Signature/{next} {print}' ahab.csf > nocert.csf
sed -e 's#"crts/rsa.tbl"#"crts/ec.tbl"#' \
    -e 's#"crts/SRK1_sha256_2048_65537_v3_ca_crt.pem"#"pkcs11:token=YubiHSM;object=SRK2_p256;type=cert;pin-value=password"#' \
    -e 's#Source Index = 0#Source Index = 1#' nocert.csf > tok.csf
printf '[Install Certificate]\nFile = "pkcs11:token=YubiHSM;object=SGK;type=cert;pin-value=password"\nPermissions = 0x1\n' > cert.part
awk -v part="$(cat cert.part)" '/^\[Authenticate Data\]/{print part} {print}' tok.csf > tokc.csf
code=$(post tok.bin mx93 tokc.csf pkcs11)
[ "$code" = 200 ] || srv_fail "AHAB token signing: $code $(head -c 300 tok.bin)"
"$BS_BIN" ahab verify --fuse "$P/crts/ec.fuse" tok.bin > v.out || srv_fail "token: bootsign verify: $(cat v.out)"
grep -q "certificate: permissions 0x01" v.out || srv_fail "token: no certificate"
[ "$($H check tok.bin "$P/crts/ec.fuse")" = OK ] || srv_fail "token: independent verify"
echo "ok: token keys (SRK and certificate key in SoftHSM2): signed image verifies"
code=$(post x.bin mx93 tokc.csf ssl)
[ "$code" = 400 ] || srv_fail "pkcs11: URI with backend=ssl: $code"
sed 's#pin-value=password#pin-value=1234#' tokc.csf > badpin.csf
code=$(post x.bin mx93 badpin.csf pkcs11)
[ "$code" = 400 ] || srv_fail "client PIN accepted: $code"

# refusals
code=$(post x.bin mx93 nocert.csf)
case "$code" in 400|403) grep -q "never loads SRK private keys" x.bin || srv_fail "SRK file key message: $(cat x.bin)" ;;
*) srv_fail "SRK file key accepted: $code" ;; esac
code=$(post x.bin mx8mm ahab.csf)
[ "$code" = 400 ] && grep -q "needs an AHAB soctype" x.bin || srv_fail "AHAB CSF + mx8mm: $code $(cat x.bin)"
cp "$T/client/flash.csf" hab4.csf
code=$(post x.bin mx8qxp hab4.csf)
[ "$code" = 400 ] && grep -q "HAB4 does not run on" x.bin || srv_fail "HAB4 CSF + mx8qxp: $code $(cat x.bin)"
sed 's#"flash.bin"#"other.bin"#' ahab.csf > other.csf
code=$(post x.bin mx93 other.csf)
[ "$code" = 400 ] && grep -q "uploaded artifact is 'flash.bin'" x.bin || srv_fail "wrong Data File: $code"
sed 's#"crts/rsa.tbl"#"../rsa.tbl"#' ahab.csf > dotdot.csf
code=$(post x.bin mx93 dotdot.csf)
[ "$code" = 400 ] || [ "$code" = 403 ] || srv_fail "'..' in a key name: $code"
sed 's#Version = 1.0#Version = 2.0#' ahab.csf > v2.csf
code=$(post x.bin mx93 v2.csf)
case "$code" in 400|501) grep -q "not supported yet" x.bin || srv_fail "v2 message: $(cat x.bin)" ;; *) srv_fail "Version 2.0: $code" ;; esac
$H build built.bin
flip built.bin $((0x2000 + 3)) changed.bin # inverted: a fixed 'X' left 1 random image in 256 unchanged
cp changed.bin flash.bin
code=$(post x.bin mx93 ahab.csf)
[ "$code" = 400 ] || [ "$code" = 422 ] || srv_fail "changed image signed: $code"
grep -q "refusing to sign" x.bin || srv_fail "changed image message: $(cat x.bin)"
echo "ok: refusals (HAB4 soctype, HAB4 CSF, wrong data file, '..', v2, changed image)"

srv_healthy
srv_spool_empty
srv_log_clean
! grep -q "0001password" "$SRV_LOG" || srv_fail "PIN in the log"
srv_stop
echo "all AHAB server checks passed"
