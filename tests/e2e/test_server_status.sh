#!/usr/bin/env bash
# Status codes say whose fault it is (issue 14 item 7): the server's own key store state
# (a 1 MiB key_pass.txt, an oversized key file) is a 5xx that names only the request id,
# never a 413 as if the client had sent too much; the client's own mistakes stay 4xx.
set -euo pipefail
. "$BS_SRCDIR/tests/e2e/lib/server_common.sh"
RT=$BS_FIXTURES/red-team
srv_setup
mkdir -p "$T/e" "$T/keys/enc/imxsign" "$T/keys/encbig/imxsign" "$T/keys/ok/imxsign"
cp "$RT/enc-bundle.tar.gz" "$T/keys/ok/imxsign/imx-cst-keys.tar.gz"
tar -C "$T/e" -xzf "$RT/enc-bundle.tar.gz"
head -c 1048576 /dev/zero | tr '\0' 'p' > "$T/e/keys/key_pass.txt"
tar -C "$T/e" -czf "$T/keys/enc/imxsign/imx-cst-keys.tar.gz" crts keys
cp "$RT/enc.csf" "$T/client/enc.csf"
srv_start
cd "$T/client"
post() { # machine csf -> status; body in body.txt
	curl -s -m 20 -o body.txt -w '%{http_code}' -X POST -F "machine=$1" -F soctype=mx8m \
		-F cstversion=3.3.2 -F "csf=@$2;type=text/plain" -F "artifact=@imx-boot-sd.bin" "$URL/sign/imx"
}
code=$(post ok enc.csf)
[ "$code" = 200 ] || srv_fail "control: encrypted bundle with its key_pass.txt: $code $(cat body.txt)"
code=$(post enc enc.csf)
[ "$code" = 500 ] || srv_fail "1 MiB key_pass.txt answered $code (expected 500): $(cat body.txt)"
grep -q "server configuration error (request id" body.txt || srv_fail "500 body: $(cat body.txt)"
grep -q "key_pass.txt: 1048576 bytes" "$SRV_LOG" || srv_fail "the log does not name key_pass.txt"
# client mistakes stay 4xx
code=$(post nosuchmachine enc.csf)
[ "$code" = 404 ] || srv_fail "unknown machine answered $code"
sed 's#crts/IMG1_1_sha256_2048_65537_v3_usr_crt.pem#crts/nope.pem#' enc.csf > nope.csf
code=$(post ok nope.csf)
[ "${code:0:1}" = 4 ] || srv_fail "a missing certificate named by the client answered $code"
srv_stop
echo "ok: status codes"
