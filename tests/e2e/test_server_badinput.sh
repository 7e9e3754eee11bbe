#!/usr/bin/env bash
# bootsign serve under bad input: every case gets the documented status and a one-line
# reason, the server keeps answering, the spool ends empty and the log holds no secrets.
set -euo pipefail
. "$BS_SRCDIR/tests/e2e/lib/server_common.sh"
srv_setup
echo "max_request_size = 2M" >> "$T/server.conf"
echo "connection_timeout = 5" >> "$T/server.conf"

# A bundle holding a symlink that points out of it.
mkdir -p "$T/evil/crts" "$T/evil/keys" "$T/keys/evil/imxsign"
cp "$FIX"/crts/SRK_table.bin "$FIX"/crts/IMG1_crt.pem "$T/evil/crts/"
cp "$FIX"/keys/*.pem "$T/evil/keys/"
ln -s /etc/passwd "$T/evil/crts/CSF1_crt.pem"
tar -C "$T/evil" -czf "$T/keys/evil/imxsign/imx-cst-keys.tar.gz" crts keys

srv_start
cd "$T/client"
n=0

# expect STATUS SUBSTRING curl-args...
expect() {
	local want=$1 msg=$2
	shift 2
	n=$((n + 1))
	local code
	code=$(curl --silent --output body.txt --write-out '%{http_code}' "$@") || true
	if [ "$code" != "$want" ]; then
		srv_fail "case $n: status $code, expected $want (body: $(head -c 300 body.txt))"
	fi
	if [ -n "$msg" ] && ! grep -qF -- "$msg" body.txt; then
		srv_fail "case $n: body '$(head -c 300 body.txt)' lacks '$msg'"
	fi
	[ "$(wc -l < body.txt)" -le 1 ] || srv_fail "case $n: body is not one line"
}

S=$URL/sign/imx
ok=(-F machine=imx8mp -F soctype=mx8m -F cstversion=3.3.2)
csf=(-F "csf=@flash.csf;type=text/plain")
art=(-F "artifact=@imx-boot-sd.bin")

# --- HTTP level ---
expect 400 "multipart/form-data" -X POST "$S"
expect 400 "multipart/form-data" -X POST -d machine=imx8mp "$S"
expect 400 "text/plain" -X POST -H "Content-Type: text/plain" --data-binary @flash.csf "$S"
expect 400 "boundary" -X POST -H "Content-Type: multipart/form-data" --data-binary @flash.csf "$S"
printf -- '--XYZ\r\nContent-Disposition: form-data; name="machine"\r\n\r\nimx8mp\r\n--XYZ\r\nContent-Disposition: form-data; name="csf"; filename="a.csf"\r\n\r\n[Header]\r\n  Vers' > trunc.body
expect 400 "incomplete multipart" -X POST -H "Content-Type: multipart/form-data; boundary=XYZ" --data-binary @trunc.body "$S"
expect 405 "POST" "$S"
expect 404 "unknown endpoint" -X POST "${ok[@]}" "$URL/sign/nope"
expect 404 "unknown endpoint" "$URL/"
head -c 3000000 /dev/zero > big.bin
expect 413 "exceeds the limit" -X POST "${ok[@]}" "${csf[@]}" -F "artifact=@big.bin" "$S"

# --- fields ---
expect 400 "missing field 'machine'" -X POST -F soctype=mx8m -F cstversion=3.3.2 "${csf[@]}" "${art[@]}" "$S"
expect 400 "missing field 'csf'" -X POST "${ok[@]}" "${art[@]}" "$S"
expect 400 "missing field 'artifact'" -X POST "${ok[@]}" "${csf[@]}" "$S"
expect 400 "missing field 'soctype'" -X POST -F machine=imx8mp -F cstversion=3.3.2 "${csf[@]}" "${art[@]}" "$S"
expect 400 "machine: field given more than once" -X POST -F machine=a "${ok[@]}" "${csf[@]}" "${art[@]}" "$S"
expect 400 "machine: invalid character" -X POST -F machine=../../etc -F soctype=mx8m -F cstversion=3.3.2 "${csf[@]}" "${art[@]}" "$S"
expect 400 "'..' are not allowed" -X POST -F machine=.. -F soctype=mx8m -F cstversion=3.3.2 "${csf[@]}" "${art[@]}" "$S"
expect 400 "machine: invalid character" -X POST -F machine=a/b -F soctype=mx8m -F cstversion=3.3.2 "${csf[@]}" "${art[@]}" "$S"
expect 400 "machine: must be 1 to 64" -X POST -F machine= -F soctype=mx8m -F cstversion=3.3.2 "${csf[@]}" "${art[@]}" "$S"
expect 400 "machine: must be 1 to 64" -X POST -F machine=$(printf 'a%.0s' $(seq 65)) -F soctype=mx8m -F cstversion=3.3.2 "${csf[@]}" "${art[@]}" "$S"
expect 413 "machine: larger than 256 bytes" -X POST -F machine=$(printf 'a%.0s' $(seq 300)) -F soctype=mx8m -F cstversion=3.3.2 "${csf[@]}" "${art[@]}" "$S"
{ cat flash.csf; head -c 70000 /dev/zero | tr '\0' '#'; } > huge.csf
expect 413 "csf: larger than 65536 bytes" -X POST "${ok[@]}" -F "csf=@huge.csf;type=text/plain" "${art[@]}" "$S"
expect 400 "soctype" -X POST -F machine=imx8mp -F soctype=foo -F cstversion=3.3.2 "${csf[@]}" "${art[@]}" "$S"
expect 400 "cstversion" -X POST -F machine=imx8mp -F soctype=mx8m -F cstversion=9.9 "${csf[@]}" "${art[@]}" "$S"
expect 400 "cstversion: invalid character" -X POST -F machine=imx8mp -F soctype=mx8m --form-string "cstversion=3.3.2; rm -rf /" "${csf[@]}" "${art[@]}" "$S"
expect 400 "backend: 'tpm' is not one of: ssl, pkcs11" -X POST "${ok[@]}" -F backend=tpm "${csf[@]}" "${art[@]}" "$S"
expect 400 "backend: 'x\"status=200' is not one of" -X POST "${ok[@]}" -F 'backend=x"status=200' "${csf[@]}" "${art[@]}" "$S"
! grep -q 'x"status=200' "$SRV_LOG" || srv_fail "case $n: a client quote closed the log's result field"
: > empty.bin
expect 400 "artifact: empty" -X POST "${ok[@]}" "${csf[@]}" -F "artifact=@empty.bin" "$S"
expect 400 "artifact: must be sent as a file upload" -X POST "${ok[@]}" "${csf[@]}" -F artifact=inline "$S"
{ cat flash.csf; printf '\xff\xfe\n'; } > latin.csf
expect 400 "csf: not UTF-8 text" -X POST "${ok[@]}" -F "csf=@latin.csf;type=text/plain" "${art[@]}" "$S"
{ head -c 10 flash.csf; printf '\0'; tail -c +11 flash.csf; } > nul.csf
expect 400 "csf: not UTF-8 text" -X POST "${ok[@]}" -F "csf=@nul.csf;type=text/plain" "${art[@]}" "$S"

# --- CSF content ---
sed 's/^\[Install CSFK\]/[Install CSFK/' flash.csf > syntax.csf
expect 400 "syntax.csf:" -X POST "${ok[@]}" -F "csf=@syntax.csf;type=text/plain" "${art[@]}" "$S"
sed 's/"imx-boot-sd.bin"/"other.bin"/' flash.csf > other.csf
expect 400 "Blocks name 'other.bin' but the uploaded artifact is 'imx-boot-sd.bin'" -X POST "${ok[@]}" -F "csf=@other.csf;type=text/plain" "${art[@]}" "$S"
sed 's/0x0 0x2000/0x0 0x3000/' flash.csf > beyond.csf
expect 400 "lies outside the artifact" -X POST "${ok[@]}" -F "csf=@beyond.csf;type=text/plain" "${art[@]}" "$S"
sed 's#"crts/CSF1_crt.pem"#"../../../etc/passwd"#' flash.csf > trav.csf
expect 400 "relative to the key bundle" -X POST "${ok[@]}" -F "csf=@trav.csf;type=text/plain" "${art[@]}" "$S"
sed 's#"crts/CSF1_crt.pem"#"/etc/passwd"#' flash.csf > abs.csf
expect 400 "relative to the key bundle" -X POST "${ok[@]}" -F "csf=@abs.csf;type=text/plain" "${art[@]}" "$S"
sed 's#"crts/CSF1_crt.pem"#"crts/../../x_crt.pem"#' flash.csf > trav2.csf
expect 400 "relative to the key bundle" -X POST "${ok[@]}" -F "csf=@trav2.csf;type=text/plain" "${art[@]}" "$S"
sed 's#"crts/CSF1_crt.pem"#"crts/NOPE_crt.pem"#' flash.csf > missing.csf
expect 400 "crts/NOPE_crt.pem" -X POST "${ok[@]}" -F "csf=@missing.csf;type=text/plain" "${art[@]}" "$S"
sed 's#"crts/CSF1_crt.pem"#"pkcs11:token=t;object=CSF1;type=cert"#' flash.csf > p11.csf
expect 400 "needs backend=pkcs11" -X POST "${ok[@]}" -F "csf=@p11.csf;type=text/plain" "${art[@]}" "$S"
# a PIN in a URI-looking key name, its key percent-encoded: answered, never logged
sed 's#"crts/CSF1_crt.pem"#"PKCS11:token=t;object=CSF1;pin%2Dvalue=4711topsecret"#' flash.csf > pinenc.csf
expect 400 "not found" -X POST "${ok[@]}" -F "csf=@pinenc.csf;type=text/plain" "${art[@]}" "$S"
sleep 0.2
! grep -q 4711topsecret "$SRV_LOG" || srv_fail "case $n: percent-encoded pin-value reached the log"
expect 404 "no keys for 'nokeys'" -X POST -F machine=nokeys -F soctype=mx8m -F cstversion=3.3.2 "${csf[@]}" "${art[@]}" "$S"
expect 500 "server configuration error (request id " -X POST -F machine=evil -F soctype=mx8m -F cstversion=3.3.2 "${csf[@]}" "${art[@]}" "$S"
! grep -q root: body.txt || srv_fail "case $n: symlink followed out of the bundle"
grep -q "key bundle for .evil" "$SRV_LOG" || srv_fail "case $n: no log detail for the 500"

# --- connections ---
# raw garbage instead of HTTP
n=$((n + 1))
exec 3<>/dev/tcp/127.0.0.1/"$PORT"
printf 'GARBAGE \x01\x02\r\n\r\n' >&3
timeout 5 cat <&3 > raw.txt || true
exec 3>&- 3<&-
grep -q '^HTTP/1.1 400' raw.txt || srv_fail "case $n: garbage got '$(head -c 80 raw.txt)'"
# chunked body over the limit: the client reads a 413 that says why, the server carries on
n=$((n + 1))
code=$(curl --silent -o chunked.txt -w '%{http_code}' -X POST -H "Transfer-Encoding: chunked" \
	"${ok[@]}" "${csf[@]}" -F "artifact=@big.bin" "$S" || true)
[ "$code" = 413 ] && grep -q "chunked request body exceeds the limit of" chunked.txt ||
	srv_fail "case $n: chunked oversize body: $code $(cat chunked.txt 2>/dev/null)"
# client disconnect mid-upload (slow upload cut by --max-time)
n=$((n + 1))
head -c 1500000 /dev/urandom > slow.bin
curl --silent --limit-rate 200K --max-time 1 -X POST "${ok[@]}" "${csf[@]}" \
	-F "artifact=@slow.bin" --output /dev/null "$S" && srv_fail "case $n: upload not cut"
sleep 0.5
srv_healthy
srv_spool_empty
echo "$n bad-input cases passed"
[ "$n" -ge 30 ] || srv_fail "only $n cases"

# a good request still works after all of that
curl --silent --fail -X POST "${ok[@]}" "${csf[@]}" "${art[@]}" --output good.bin "$S" ||
	srv_fail "good request failed after the bad ones"
verify_blob "$T/client/good.bin" "$T/client/imx-boot-sd.bin" "$T/vgood"
srv_spool_empty
srv_log_clean
srv_stop
srv_spool_empty
echo "test_server_badinput: ok"
