#!/usr/bin/env bash
# Access control over real TLS (issue 12): mTLS and bearer clients on one port, the policy
# (endpoint / subject / key, rate and usage limits, SIGHUP reload), /metrics under the
# policy, the audit log (records, verify, tampering found at the right record, an
# unwritable log stops signing), and the non-loopback refusal. Certificates come from
# openssl in the test; blobs are checked by bootsign hab verify and openssl cms.
set -euo pipefail
. "$BS_SRCDIR/tests/e2e/lib/server_common.sh"
srv_setup
P=$T/pki
mkdir -p "$P"
cd "$P"
q() { "$@" >/dev/null 2>&1; }
# CA for clients, a second (wrong) CA, the server certificate, three client certificates
q openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 30 -subj /CN=clients-ca
q openssl req -x509 -newkey rsa:2048 -nodes -keyout bad-ca.key -out bad-ca.pem -days 30 -subj /CN=rogue-ca
# the server key is ECDSA P-256 (test_server_keyproc has an RSA one)
q openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout server.key -out server.csr \
	-subj /CN=127.0.0.1
printf 'subjectAltName=IP:127.0.0.1\n' > san.ext
q openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 \
	-extfile san.ext -out server.pem
for c in builder rogue expired; do
	q openssl req -newkey rsa:2048 -nodes -keyout "$c.key" -out "$c.csr" -subj "/CN=$c"
done
q openssl x509 -req -in builder.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 -out builder.pem
q openssl x509 -req -in rogue.csr -CA bad-ca.pem -CAkey bad-ca.key -CAcreateserial -days 30 -out rogue.pem
mkdir -p ca.db && : > ca.db/index && echo 01 > ca.db/serial
cat > ca.cnf <<CNF
[ca]
default_ca = c
[c]
database = $P/ca.db/index
serial = $P/ca.db/serial
new_certs_dir = $P/ca.db
default_md = sha256
policy = p
[p]
commonName = supplied
CNF
q openssl ca -batch -config ca.cnf -cert ca.pem -keyfile ca.key -in expired.csr -out expired.pem \
	-startdate 20200101000000Z -enddate 20210101000000Z
[ -s expired.pem ] || srv_fail "could not make the expired certificate"
q openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out audit.key
q openssl pkey -in audit.key -pubout -out audit.pub
chmod 600 server.key audit.key

# Tokens: printed once, only hashes stored (0600)
"$BS_BIN" token add --tokens "$T/tokens" ci > ci.tok 2>/dev/null
"$BS_BIN" token add --tokens "$T/tokens" old > old.tok 2>/dev/null
"$BS_BIN" token add --tokens "$T/tokens" keyonly > keyonly.tok 2>/dev/null
"$BS_BIN" token add --tokens "$T/tokens" once > once.tok 2>/dev/null
"$BS_BIN" token add --tokens "$T/tokens" burst > burst.tok 2>/dev/null
CI=$(cat ci.tok)
[ "$(stat -c %a "$T/tokens")" = 600 ] || srv_fail "tokens file not 0600"
grep -q "$CI" "$T/tokens" && srv_fail "token stored in clear"
"$BS_BIN" token add --tokens "$T/tokens" ci >/dev/null 2>&1 && srv_fail "duplicate token name accepted"

cat > "$T/policy" <<POL
# who may sign what
allow cn:builder imx imx8mp *
allow ci imx imx8mp *
allow keyonly imx imx8mp nomatch/*
allow once imx imx8mp * max=1
allow * metrics * *
allow old imx imx8mp *
allow burst imx imx8mp * rate=2/min
POL
"$BS_BIN" policy check "$T/policy" | grep -q "7 rule(s), OK" || srv_fail "policy check"
printf 'allow ci imx imx8mp\n' > "$T/broken-policy"
out=$("$BS_BIN" policy check "$T/broken-policy" 2>&1) && srv_fail "broken policy accepted"
echo "$out" | grep -q "broken-policy:1: expected 'allow|deny CLIENT ENDPOINT SUBJECT KEY" ||
	srv_fail "policy check message: $out"

cat >> "$T/server.conf" <<CONF
tls_cert = $P/server.pem
tls_key = $P/server.key
client_ca = $P/ca.pem
tokens_file = $T/tokens
proxy_addresses = 127.0.0.2
policy_file = $T/policy
audit_log = $T/audit.log
audit_key = $P/audit.key
CONF
srv_start
URL=https://127.0.0.1:$PORT
# the ECDSA server key signs TLS 1.2 and TLS 1.3 handshakes (through the key process by
# default); the client checks the chain and the signature
for v in "--tlsv1.2 --tls-max 1.2|TLSv1.2 / ECDHE-ECDSA" "--tlsv1.3|TLSv1.3 / "; do
	# shellcheck disable=SC2086
	out=$(curl --silent --show-error --verbose --cacert "$P/ca.pem" ${v%|*} -o /dev/null \
		-w '%{http_code}' "$URL/healthz" 2>&1) || srv_fail "curl ${v%|*}: $out"
	echo "$out" | grep -q "SSL connection using ${v#*|}" || srv_fail "curl ${v%|*}: $out"
	[ "${out##*$'\n'}" = 200 ] || srv_fail "curl ${v%|*}: $out"
done
out=$(openssl s_client -connect "127.0.0.1:$PORT" -CAfile "$P/ca.pem" -verify_return_error \
	-tls1_3 -sigalgs ecdsa_secp256r1_sha256 < /dev/null 2>&1) || srv_fail "s_client: $out"
echo "$out" | grep -q "^Peer signature type: ECDSA$" || srv_fail "s_client: $out"
cd "$T/client"
FORM=(-F machine=imx8mp -F soctype=mx8m -F cstversion=3.3.2 -F "csf=@flash.csf;type=text/plain"
      -F "artifact=@imx-boot-sd.bin")
# sign OUT [curl args...] -> prints the status; body in OUT
sign() {
	local out=$1; shift
	curl --silent --cacert "$P/ca.pem" -o "$out" -w '%{http_code}' "$@" "${FORM[@]}" \
		"$URL/sign/imx"
}
# wait_log PATTERN: the request line is written when the connection completes, just
# after the client has its answer
wait_log() {
	for _ in $(seq 50); do grep -q "$1" "$SRV_LOG" && return 0; sleep 0.1; done
	return 1
}
expect() { # expect STATUS BODYFILE EXPECTED-BODY
	[ "$1" = "$4" ] || srv_fail "status $4, expected $1 (body: $(cat "$2" 2>/dev/null))"
	[ -z "$3" ] || [ "$(cat "$2")" = "$3" ] || srv_fail "body '$(cat "$2")', expected '$3'"
}

# --- authentication ---
s=$(sign b.txt -D h401.txt); expect 401 b.txt "authentication required: present a client certificate or Authorization: Bearer <token>" "$s"
tr -d '\r' < h401.txt | grep -q '^WWW-Authenticate: Bearer realm="bootsign"$' || srv_fail "401 without WWW-Authenticate"
s=$(sign csf-cert.bin --cert "$P/builder.pem" --key "$P/builder.key")
expect 200 csf-cert.bin "" "$s"
verify_blob "$T/client/csf-cert.bin" "$T/client/imx-boot-sd.bin" "$T/v-cert"
s=$(sign b.txt --cert "$P/rogue.pem" --key "$P/rogue.key")
expect 401 b.txt "client certificate refused: not issued by the server's client CA" "$s"
s=$(sign b.txt --cert "$P/expired.pem" --key "$P/expired.key")
expect 401 b.txt "client certificate refused: expired" "$s"
s=$(sign csf-tok.bin -H "Authorization: Bearer $CI")
expect 200 csf-tok.bin "" "$s"
verify_blob "$T/client/csf-tok.bin" "$T/client/imx-boot-sd.bin" "$T/v-tok"
s=$(sign b.txt -H "Authorization: Bearer bst_0123456789abcdef0123456789abcdef")
expect 401 b.txt "unknown or revoked bearer token" "$s"
s=$(sign b.txt -H "Authorization: Bearer $(cat "$P/old.tok")"); expect 200 b.txt "" "$s"
"$BS_BIN" token revoke --tokens "$T/tokens" old 2>/dev/null
kill -HUP "$SRV_PID"
for _ in $(seq 50); do grep -q "SIGHUP: 4 token(s) loaded" "$SRV_LOG" && break; sleep 0.1; done
s=$(sign b.txt -H "Authorization: Bearer $(cat "$P/old.tok")")
expect 401 b.txt "unknown or revoked bearer token" "$s"
# plain HTTP to the TLS port is not served
curl --silent --max-time 5 -o /dev/null "http://127.0.0.1:$PORT/healthz" && srv_fail "plain HTTP answered"
# the principal is in the request log; tokens never are
wait_log "client=127.0.0.1:[0-9]* principal=cn:builder(sha256:[0-9a-f]\{16\}) " || srv_fail "certificate principal not logged"
wait_log " principal=token:ci " || srv_fail "token principal not logged"
grep -q "$CI" "$SRV_LOG" && srv_fail "bearer token in the log"

# a failing request (broken CSF) is audited as failed
printf '[Header]\n  Version = 4.2\n' > broken.csf
s=$(curl --silent --cacert "$P/ca.pem" -o b.txt -w '%{http_code}' --cert "$P/builder.pem" \
	--key "$P/builder.key" -F machine=imx8mp -F soctype=mx8m -F cstversion=3.3.2 \
	-F "csf=@broken.csf;type=text/plain" -F "artifact=@imx-boot-sd.bin" "$URL/sign/imx")
[ "$s" = 400 ] || srv_fail "broken CSF: status $s"
# a proxy identity header from an address that is not a configured proxy is ignored
s=$(sign b.txt -H "X-Client-DN: CN=builder,O=x")
expect 401 b.txt "authentication required: present a client certificate or Authorization: Bearer <token>" "$s"

# --- policy ---
# a client without any rule for an endpoint is refused before its body is read
s=$(curl --silent --cacert "$P/ca.pem" -o b.txt -w '%{http_code}' -H "Authorization: Bearer $CI" \
	-F distro=poky -F "artifact=@imx-boot-sd.bin" "$URL/sign/swupdate")
expect 403 b.txt "access denied: no policy rule allows client token:ci on endpoint swupdate (default deny)" "$s"
FORM=(-F machine=imx8mq -F soctype=mx8m -F cstversion=3.3.2 -F "csf=@flash.csf;type=text/plain"
      -F "artifact=@imx-boot-sd.bin")
s=$(sign b.txt -H "Authorization: Bearer $CI")
expect 403 b.txt "access denied: no policy rule allows client token:ci on endpoint imx for 'imx8mq' (default deny)" "$s"
FORM=(-F machine=imx8mp -F soctype=mx8m -F cstversion=3.3.2 -F "csf=@flash.csf;type=text/plain"
      -F "artifact=@imx-boot-sd.bin")
s=$(sign b.txt -H "Authorization: Bearer $(cat "$P/keyonly.tok")")
[ "$s" = 403 ] || srv_fail "key policy: status $s"
# (the imx signer names the CSF line that asked for the key)
grep -q "^flash.csf:[0-9]*:[0-9]*: access denied: no policy rule allows client token:keyonly the key 'keys/IMG1_key.pem' (endpoint imx, 'imx8mp'; default deny)$" b.txt ||
	srv_fail "key policy body: $(cat b.txt)"
s=$(sign b.txt -H "Authorization: Bearer $(cat "$P/once.tok")"); expect 200 b.txt "" "$s"
s=$(sign b.txt -H "Authorization: Bearer $(cat "$P/once.tok")")
expect 403 b.txt "usage limit: the rule at policy:5 allows 1 requests for client token:once" "$s"
# rate=2/min: two back to back, the third is refused
B=$(cat "$P/burst.tok")
s=$(sign b.txt -H "Authorization: Bearer $B"); expect 200 b.txt "" "$s"
s=$(sign b.txt -H "Authorization: Bearer $B"); expect 200 b.txt "" "$s"
s=$(sign b.txt -H "Authorization: Bearer $B")
expect 429 b.txt "rate limit: the rule at policy:8 allows 2 requests per minute for client token:burst" "$s"

# --- SIGHUP: a broken file keeps the old policy; a good one replaces it ---
cp "$T/policy" "$T/policy.good"
printf 'allow cn:builder imx imx8mp * bogus=1\n' > "$T/policy"
kill -HUP "$SRV_PID"
for _ in $(seq 50); do grep -q "policy not reloaded" "$SRV_LOG" && break; sleep 0.1; done
grep -q "SIGHUP: policy not reloaded, keeping the old one: policy:1: unknown option 'bogus=1'" "$SRV_LOG" ||
	srv_fail "broken policy not reported"
s=$(sign b.txt --cert "$P/builder.pem" --key "$P/builder.key"); expect 200 b.txt "" "$s"
printf 'deny cn:builder imx * *\nallow * metrics * *\n' > "$T/policy"
# reload while requests are in flight: none of them fails
pids=()
for i in 1 2 3 4; do
	( r=$(sign "load$i.bin" --cert "$P/builder.pem" --key "$P/builder.key" \
		--show-error 2>"load$i.err") || r="curl exit $?: $(cat "load$i.err")"
	  echo "$r" > "load$i.status" ) &
	pids+=($!)
done
kill -HUP "$SRV_PID"
wait "${pids[@]}"
for i in 1 2 3 4; do
	st=$(cat "load$i.status"); [ "$st" = 200 ] || [ "$st" = 403 ] || srv_fail "in-flight request got $st"
done
for _ in $(seq 50); do [ "$(grep -c 'SIGHUP: policy reloaded' "$SRV_LOG")" -ge 2 ] && break; sleep 0.1; done
s=$(sign b.txt --cert "$P/builder.pem" --key "$P/builder.key")
expect 403 b.txt "access denied: the rule at policy:1 refuses client cn:builder(sha256:$(openssl x509 -in "$P/builder.pem" -outform DER | sha256sum | cut -c1-16)) on endpoint imx" "$s"

# --- /metrics under the policy ---
code=$(curl --silent --cacert "$P/ca.pem" -o m.txt -w '%{http_code}' "$URL/metrics")
expect 401 m.txt "" "$code"
code=$(curl --silent --cacert "$P/ca.pem" -o m.txt -w '%{http_code}' -H "Authorization: Bearer $CI" "$URL/metrics")
expect 200 m.txt "" "$code"
grep -q '^bootsign_requests_total{endpoint="imx",status="200"} [0-9]' m.txt || srv_fail "metrics: requests"
grep -q '^bootsign_requests_total{endpoint="imx",status="401"} [0-9]' m.txt || srv_fail "metrics: 401"
grep -q '^bootsign_signatures_total{key=".*"} [0-9]' m.txt || srv_fail "metrics: signatures"
grep -q '^bootsign_request_duration_seconds_bucket{le="+Inf"} [0-9]' m.txt || srv_fail "metrics: histogram"
grep -q "$CI" m.txt && srv_fail "metrics leak a token"
srv_stop

# --- audit ---
A=$T/audit.log
[ "$(stat -c %a "$A")" = 600 ] || srv_fail "audit log not 0600"
grep -q $'result=granted\tstatus=200\tkeys=[^-]' "$A" || srv_fail "no granted record with keys"
grep -q $'result=denied\tstatus=401' "$A" || srv_fail "no 401 record"
grep -q $'result=denied\tstatus=403' "$A" || srv_fail "no 403 record"
grep -q $'result=denied\tstatus=429' "$A" || srv_fail "no 429 record"
grep -q $'result=failed\tstatus=400' "$A" || srv_fail "no failed record"
blocks=$(head -c 8192 imx-boot-sd.bin | sha256sum | cut -d' ' -f1)
grep -q "digests=.*|sha256|$blocks" "$A" || srv_fail "signed digest not in the audit record"
grep -q $'client=cn:builder(sha256:[0-9a-f]*)\tsource=127.0.0.1:' "$A" || srv_fail "client/source missing"
out=$("$BS_BIN" audit verify "$A" --key "$P/audit.pub") || srv_fail "audit verify: $out"
echo "$out" | grep -q "^OK: .* seal signature(s) verified" || srv_fail "audit verify: $out"
"$BS_BIN" audit verify "$A" --key "$P/ca.pem" >/dev/null 2>&1 && srv_fail "wrong key accepted"
"$BS_BIN" audit show "$A" --client 'token:ci' --result granted | grep -q "client=token:ci" ||
	srv_fail "audit show --client"
[ "$("$BS_BIN" audit show "$A" --client 'token:nobody' | wc -l)" = 0 ] || srv_fail "audit show filter"
[ "$("$BS_BIN" audit show "$A" --key-id 'keys/CSF1*' | wc -l)" = "$(grep -c $'\tkeys=[^\t]*keys/CSF1' "$A")" ] ||
	srv_fail "audit show --key-id"
[ "$("$BS_BIN" audit show "$A" --since 2999 | wc -l)" = 0 ] || srv_fail "audit show --since"
[ "$("$BS_BIN" audit show "$A" --until 2000 | wc -l)" = 0 ] || srv_fail "audit show --until"
[ "$("$BS_BIN" audit show "$A" --since "$(date -u +%Y)" | wc -l)" -ge 8 ] || srv_fail "audit show --since this year"
n=$(wc -l < "$A")
[ "$n" -ge 8 ] || srv_fail "only $n audit lines"
tamper() { # tamper NAME EXPECTED-LINE-PREFIX: the copy must fail at that line
	local out
	out=$("$BS_BIN" audit verify "$T/t.log") && srv_fail "$1 not detected"
	echo "$out" | grep -q "^FAILED: $T/t.log:$2: " || srv_fail "$1 reported as: $out"
}
sed '5s/status=[0-9]*/status=200/; 5s/result=[a-z]*/result=granted/' "$A" > "$T/t.log"
cmp -s "$A" "$T/t.log" && srv_fail "edit did not change the log"
tamper edit 5
sed '5d' "$A" > "$T/t.log"; tamper delete 5
awk 'NR==5{l=$0; next} NR==6{print; print l; next} {print}' "$A" > "$T/t.log"; tamper reorder 5
head -c -20 "$A" > "$T/t.log"; tamper truncate "$n"
sed '1d' "$A" > "$T/t.log"; tamper "delete first" 1

# --- an audit log that cannot be written stops signing (503, no signature) ---
sed -i "s|^audit_log = .*|audit_log = /dev/full|; /^audit_key/d; /^policy_file/d; s|^proxy_addresses = .*|proxy_addresses = 127.0.0.1|" "$T/server.conf"
srv_start
URL=https://127.0.0.1:$PORT
s=$(sign nosig.bin -H "Authorization: Bearer $CI")
[ "$s" = 503 ] || srv_fail "unwritable audit log: status $s"
grep -q "^audit log unavailable: signing is stopped (request id [0-9a-f]*)$" nosig.bin ||
	srv_fail "503 body: $(cat nosig.bin)"
grep -q "audit log unavailable, signature withheld" "$SRV_LOG" || srv_fail "503 not logged"
# from a configured proxy address the identity header is honoured
s=$(sign nosig.bin -H "X-Client-DN: O=acme,CN=builder")
[ "$s" = 503 ] || srv_fail "proxy request: status $s"
wait_log "principal=proxy-cn:builder " || srv_fail "proxy identity not used"
srv_stop

# --- SIGKILL under load: every delivered signature has its record ---
sed -i "s|^audit_log = .*|audit_log = $T/crash.log|" "$T/server.conf"
srv_start
URL=https://127.0.0.1:$PORT
mkdir -p crash
pids=()
for w in 1 2 3 4; do
	( for i in $(seq 1 30); do
		curl --silent --cacert "$P/ca.pem" -D "crash/$w-$i.h" -o "crash/$w-$i.bin" \
			-H "Authorization: Bearer $CI" "${FORM[@]}" "$URL/sign/imx" || true
	done ) &
	pids+=($!)
done
# kill at a random point after the first delivered signature (a fixed delay delivered none
# on a loaded machine); bounded: 20 s
for _ in $(seq 200); do grep -qs "^HTTP/1.1 200" crash/*.h && break; sleep 0.1; done
sleep "0.$((RANDOM % 4))"
kill -KILL "$SRV_PID"
wait "${pids[@]}" 2>/dev/null || true
SRV_PID=
delivered=0
for h in crash/*.h; do
	grep -q "^HTTP/1.1 200" "$h" || continue
	rid=$(tr -d '\r' < "$h" | sed -n 's/^[Xx]-[Rr]equest-[Ii]d: //p')
	grep -q $'\treqid='"$rid"$'\t.*result=granted' "$T/crash.log" ||
		srv_fail "signature $rid delivered without its audit record"
	delivered=$((delivered + 1))
done
[ "$delivered" -gt 0 ] || srv_fail "no signature delivered before the kill"
"$BS_BIN" audit verify "$T/crash.log" >/dev/null || srv_fail "log after SIGKILL does not verify"
srv_start  # the chain continues after the crash
srv_stop
"$BS_BIN" audit verify "$T/crash.log" >/dev/null || srv_fail "log after restart does not verify"

# --- a bad tls_key stops the start, naming the setting ---
bad_start() { # bad_start EXPECTED: serve exits non-zero with EXPECTED in its output
	local out
	out=$(timeout 20 "$BS_BIN" serve --config "$T/server.conf" --port 0 2>&1) &&
		srv_fail "started with a bad tls_key"
	echo "$out" | grep -qF -- "$1" || srv_fail "bad tls_key message: $out"
}
sed -i "s|^tls_key = .*|tls_key = $P/audit.key|" "$T/server.conf"
bad_start "tls_key does not belong to the certificate in tls_cert $P/server.pem"
chmod 644 "$P/server.key"
sed -i "s|^tls_key = .*|tls_key = $P/server.key|" "$T/server.conf"
bad_start "tls_key"
bad_start "mode 0644"
chmod 600 "$P/server.key"

# --- non-loopback without authentication: refused before listening ---
printf 'keyfile_uri = file://%s/keys\nspool_dir = %s/spool\n' "$T" "$T" > "$T/open.conf"
out=$("$BS_BIN" serve --config "$T/open.conf" --address 0.0.0.0 --port 0 2>&1) &&
	srv_fail "non-loopback without auth started"
echo "$out" | grep -q "refusing to listen on non-loopback address 0.0.0.0 without client authentication" ||
	srv_fail "refusal message: $out"
srv_spool_empty
echo "PASS"
