#!/usr/bin/env bash
# key_isolation = yes: the server process, which parses HTTP, multipart and CSFs, never
# holds a private key or the token PIN; the key process does. Signing with file keys and
# SoftHSM2 token keys verifies; the server's memory (/proc/<pid>/mem, read as root) holds
# neither the PIN nor the private exponent/primes of the signing keys, the audit key and
# the TLS server key, the key process's does (the scan can fail); HTTPS handshakes (TLS
# 1.2 with PKCS#1 v1.5 and RSA-PSS, TLS 1.3) are signed by the key process; killing the
# key process under load gives 503s, then 200s again, over TLS with the same key; a TLS
# key in the token (tls_key = pkcs11: URI) signs handshakes too.
set -euo pipefail
. "$BS_SRCDIR/tests/e2e/lib/server_common.sh"
. "$BS_SRCDIR/tests/e2e/lib/common.sh"
. "$BS_SRCDIR/tests/e2e/lib/keyproc.sh"
[ "$(id -u)" = 0 ] || { echo "test_server_keyproc: skipped (needs root to read /proc/<pid>/mem)"; exit 0; }
srv_setup
kp_setup
kp_conf >> "$T/server.conf"
# The audit log's sealing key is the server's own key: it lives in the key process too.
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$T/audit.key" 2>/dev/null
chmod 600 "$T/audit.key"
openssl pkey -in "$T/audit.key" -pubout -out "$T/audit.pub"
printf 'audit_log = %s\naudit_key = %s\n' "$T/audit.log" "$T/audit.key" >> "$T/server.conf"
# HTTPS: the server key is in the key process too (an RSA key, for the needles below)
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
	-addext subjectAltName=IP:127.0.0.1 -keyout "$T/tls.key" -out "$T/tls.crt" 2>/dev/null
chmod 600 "$T/tls.key"
printf 'tls_cert = %s\ntls_key = %s\n' "$T/tls.crt" "$T/tls.key" >> "$T/server.conf"
export CURL_CA_BUNDLE=$T/tls.crt
SRV_PIN=" " srv_start
URL=https://127.0.0.1:$PORT
# TLS 1.2 and 1.3 with curl; openssl s_client pins the signature scheme and checks it
for v in "--tlsv1.2 --tls-max 1.2" "--tlsv1.3"; do
	# shellcheck disable=SC2086
	out=$(curl --silent --show-error --verbose $v -o /dev/null -w '%{http_code}' "$URL/healthz" 2>&1) ||
		srv_fail "curl $v: $out"
	echo "$out" | grep -q "SSL connection using TLSv1\.${v:8:1}" || srv_fail "curl $v: $out"
	[ "${out##*$'\n'}" = 200 ] || srv_fail "curl $v: $out"
done
for s in "-tls1_2 -sigalgs RSA+SHA256|RSA" "-tls1_2 -sigalgs rsa_pss_rsae_sha384|RSA-PSS" \
	 "-tls1_3 -sigalgs rsa_pss_rsae_sha256|RSA-PSS"; do
	# shellcheck disable=SC2086
	out=$(openssl s_client -connect "127.0.0.1:$PORT" -CAfile "$T/tls.crt" -verify_return_error \
		${s%|*} < /dev/null 2>&1) || srv_fail "s_client ${s%|*}: $out"
	echo "$out" | grep -q "^Peer signature type: ${s#*|}$" || srv_fail "s_client ${s%|*}: $out"
	echo "$out" | grep -q "Verify return code: 0 (ok)" || srv_fail "s_client ${s%|*}: $out"
done
grep -q "key isolation: keys and PIN are in the key process" "$SRV_LOG" ||
	srv_fail "key isolation not reported"

cd "$T/client"
code=$(kp_sign flash.csf file.bin)
[ "$code" = 200 ] || srv_fail "file keys: $code $(head -c 300 file.bin)"
verify_blob "$T/client/file.bin" "$T/client/imx-boot-sd.bin" "$T/v1"
code=$(kp_sign hsm.csf hsm.bin -F backend=pkcs11)
[ "$code" = 200 ] || srv_fail "token keys: $code $(head -c 300 hsm.bin)"
verify_blob "$T/client/hsm.bin" "$T/client/imx-boot-sd.bin" "$T/v2"

# Needles: the PIN, and for each signing key the first 24 bytes of its private exponent
# and primes, big-endian (DER) and little-endian (OpenSSL's BIGNUM limbs on x86/arm).
needles=("$(printf %s "$TEST_PIN" | od -An -tx1 | tr -d ' \n')")
for k in "$FIX/keys/CSF1_key.pem" "$FIX/keys/IMG1_key.pem" "$T/audit.key" "$T/tls.key"; do
	for f in privateExponent prime1 prime2; do
		hex=$(openssl rsa -in "$k" -text -noout 2>/dev/null |
			sed -n "/^$f:/,/^[a-zA-Z]/p" | sed '1d;$d' | tr -d ' :\n' | sed 's/^00//')
		[ ${#hex} -ge 96 ] || srv_fail "cannot read $f of $k"
		needles+=("${hex:0:48}")
		needles+=("$(printf %s "$hex" | fold -w2 | tac | tr -d '\n' | cut -c1-48)")
	done
done
kp_pid=$(kp_pid)
[ -n "$kp_pid" ] && kill -0 "$kp_pid" || srv_fail "no key process pid in the log"
in_server=$(python3 "$BS_SRCDIR/tests/e2e/lib/memscan.py" "$SRV_PID" "${needles[@]}")
[ -z "$in_server" ] || srv_fail "the server process holds secrets: $in_server"
in_kp=$(python3 "$BS_SRCDIR/tests/e2e/lib/memscan.py" "$kp_pid" "${needles[@]}")
echo "$in_kp" | grep -qx "${needles[0]}" || srv_fail "scan control: PIN not found in the key process"
[ "$(echo "$in_kp" | grep -c .)" -ge 3 ] ||
	srv_fail "scan control: key bytes not found in the key process ($in_kp)"
tls_in_kp=0
for n in "${needles[@]: -6}"; do echo "$in_kp" | grep -qx "$n" && tls_in_kp=$((tls_in_kp + 1)); done
[ "$tls_in_kp" -ge 1 ] || srv_fail "scan control: the TLS key's bytes not found in the key process"
# the seals the key process signed for the server verify with the audit public key
"$BS_BIN" audit verify "$T/audit.log" --key "$T/audit.pub" >/dev/null ||
	srv_fail "audit log seals signed through the key process do not verify"

# A stopped (wedged) key process: the TLS key is in it, so a handshake cannot finish; it
# fails within seconds (BS_KEYPROC_HANDSHAKE_MS) instead of holding the connection for the
# 120 s a signing request may wait, and HTTPS works again once the key process runs. (Over
# plain HTTP /healthz answers 503 then: test_server_keyproc_stall.)
kill -STOP "$kp_pid"
t0=$(date +%s)
code=$(curl --silent -m 30 -o "$T/hz.txt" -w '%{http_code}' "$URL/healthz" || true)
t1=$(date +%s)
[ "$code" = 000 ] && [ $((t1 - t0)) -le 10 ] ||
	{ kill -CONT "$kp_pid"; srv_fail "HTTPS with a stopped key process: $code after $((t1 - t0)) s"; }
kill -CONT "$kp_pid"
srv_healthy

# Kill the key process under load: every answer is 200 or 503, some 503s, a new key
# process starts, and requests succeed again.
load() { # load N TAG: N sequential requests, status codes into codes.TAG
	for i in $(seq 1 "$1"); do kp_sign flash.csf "o.$2.$i" >> "codes.$2"; echo >> "codes.$2"; done
}
got503=0
for round in $(seq 1 20); do # each round catches a request signing ~1 time in 3
	rm -f codes.*
	pids=()
	for w in 1 2 3 4; do load 12 "$w" & pids+=($!); done
	# kill while requests flow: after the first answers (a fixed delay killed before any
	# request had started on a loaded machine, and then every request was a 200)
	for _ in $(seq 200); do [ "$(cat codes.* 2>/dev/null | grep -c .)" -ge 2 ] && break; sleep 0.05; done
	sleep "0.0$((RANDOM % 10))"
	kp_pid=$(kp_pid)
	kill -KILL "$kp_pid"
	wait "${pids[@]}"
	bad=$(cat codes.* | grep -v '^200$\|^503$' || true)
	[ -z "$bad" ] || srv_fail "answers other than 200/503 after the kill: $bad"
	echo "kill round $round: $(cat codes.* | sort | uniq -c | tr -s " \n" " ")" >&2
	if grep -qx 503 codes.*; then got503=1; break; fi
done
[ "$got503" = 1 ] || srv_fail "no 503 while the key process was killed"
grep -q "key process $kp_pid died" "$SRV_LOG" || srv_fail "death not logged"
for f in o.*; do
	[ "$(head -c1 "$f" | od -An -tx1 | tr -d ' ')" = d4 ] && continue
	grep -q "key process" "$f" || srv_fail "503 body: $(head -c 200 "$f")"
done
for i in 1 2 3; do
	code=$(kp_sign flash.csf after.bin)
	[ "$code" = 200 ] || srv_fail "after the restart: $code $(head -c 300 after.bin)"
done
verify_blob "$T/client/after.bin" "$T/client/imx-boot-sd.bin" "$T/v3"
code=$(kp_sign hsm.csf hsm2.bin -F backend=pkcs11)
[ "$code" = 200 ] || srv_fail "token keys after the restart: $code $(head -c 300 hsm2.bin)"
kp2=$(kp_pid)
[ "$kp2" != "$kp_pid" ] || srv_fail "no new key process"
srv_healthy
srv_log_clean
srv_stop
# the audit key outlived the killed key process: the closing seal (signed through the new
# key process) is the log's last line, and the whole log verifies
tail -n1 "$T/audit.log" | grep -q 'seal=' || srv_fail "no closing seal after the restart"
"$BS_BIN" audit verify "$T/audit.log" --key "$T/audit.pub" >/dev/null ||
	srv_fail "audit log does not verify after the key process restart"
for _ in $(seq 50); do kill -0 "$kp2" 2>/dev/null || break; sleep 0.1; done # bounded: 5 s
! kill -0 "$kp2" 2>/dev/null || srv_fail "key process $kp2 outlived the server"

# tls_key as a pkcs11: URI: the TLS key is a token object, used with the server's PIN
softhsm_import "$KP_MOD" YubiHSM "$TEST_PIN" 03 TLS "$T/tls.key" "$T/tls.crt" || srv_fail "token import TLS"
sed -i "s|^tls_key = .*|tls_key = pkcs11:token=YubiHSM;object=TLS|" "$T/server.conf"
SRV_PIN=" " srv_start
for s in "-tls1_2 -sigalgs RSA+SHA384|RSA" "-tls1_3|RSA-PSS"; do
	# shellcheck disable=SC2086
	out=$(openssl s_client -connect "127.0.0.1:$PORT" -CAfile "$T/tls.crt" -verify_return_error \
		${s%|*} < /dev/null 2>&1) || srv_fail "token TLS key: s_client ${s%|*}: $out"
	echo "$out" | grep -q "^Peer signature type: ${s#*|}$" || srv_fail "token TLS key: $out"
done
code=$(curl --silent -o /dev/null -w '%{http_code}' "https://127.0.0.1:$PORT/healthz")
[ "$code" = 200 ] || srv_fail "token TLS key: healthz $code"
srv_stop
echo "test_server_keyproc: ok"
