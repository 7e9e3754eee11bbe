#!/usr/bin/env bash
# key_isolation = yes with a stalled token (the fault-injecting shim: C_Sign sleeps, pool
# of one session): a request whose token lookup waits for the busy session holds up only
# itself; a file-key request at the same time is answered at once and verifies (the key
# process ran every lease operation under one lock, so it waited pkcs11_timeout_ms). A
# stopped key process: /healthz 503 and /metrics 200 within seconds, healthy after SIGCONT.
set -euo pipefail
: "${BS_P11SHIM:?BS_P11SHIM (the shim module) must be set}"
. "$BS_SRCDIR/tests/e2e/lib/server_common.sh"
. "$BS_SRCDIR/tests/e2e/lib/common.sh"
. "$BS_SRCDIR/tests/e2e/lib/keyproc.sh"
unset BS_E2E_KEY_ISOLATION # this test is about the key process
srv_setup
kp_setup
export P11SHIM_CTL=$T/shim.ctl P11SHIM_COUNT=$T/shim.count
printf 'epoch=0\n' > "$P11SHIM_CTL"
printf 'pkcs11_module = %s\npkcs11_pin_file = %s\nkey_isolation = yes\npkcs11_pool_size = 1\npkcs11_timeout_ms = 3000\n' \
	"$BS_P11SHIM" "$T/pin" >> "$T/server.conf"
SRV_PIN=" " srv_start
cd "$T/client"
sed 's/object=CSF1;/object=NOPE;/' hsm.csf > nope.csf # a lookup the token cache cannot answer
code=$(kp_sign flash.csf warm.bin)
[ "$code" = 200 ] || srv_fail "file keys: $code $(head -c 300 warm.bin)"
code=$(kp_sign hsm.csf warm-hsm.bin -F backend=pkcs11)
[ "$code" = 200 ] || srv_fail "token keys: $code $(head -c 300 warm-hsm.bin)"
printf 'epoch=1\nsleep_sign_ms=6000\n' > "$P11SHIM_CTL"
kp_sign hsm.csf stuck.bin -F backend=pkcs11 > stuck.code & # holds the only session
p1=$!
sleep 0.3
kp_sign nope.csf lookup.bin -F backend=pkcs11 > lookup.code & # waits for a session
p2=$!
sleep 0.3
t0=$(date +%s%N)
code=$(kp_sign flash.csf file.bin)
ms=$((($(date +%s%N) - t0) / 1000000))
[ "$code" = 200 ] || srv_fail "file keys beside a stalled token: $code $(head -c 300 file.bin)"
[ "$ms" -lt 1500 ] || srv_fail "file keys waited ${ms} ms behind a token lookup"
verify_blob "$T/client/file.bin" "$T/client/imx-boot-sd.bin" "$T/v"
wait "$p1" "$p2"
[ "$(cat stuck.code)" = 503 ] || srv_fail "stuck token request: $(cat stuck.code)"
[ "$(cat lookup.code)" = 503 ] || srv_fail "lookup on a busy pool: $(cat lookup.code) $(head -c 300 lookup.bin)"
printf 'epoch=2\n' > "$P11SHIM_CTL"

# A stopped (wedged) key process: /healthz says 503 within seconds instead of hanging for
# the 120 s a signing request may wait, and /metrics still answers (without token gauges);
# once it runs again the server is healthy.
kp_pid=$(kp_pid)
kill -STOP "$kp_pid"
t0=$(date +%s)
code=$(curl --silent -m 30 -o "$T/hz.txt" -w '%{http_code}' "$URL/healthz" || true)
t1=$(date +%s)
[ "$code" = 503 ] && [ $((t1 - t0)) -le 10 ] ||
	{ kill -CONT "$kp_pid"; srv_fail "healthz with a stopped key process: $code after $((t1 - t0)) s"; }
code=$(curl --silent -m 30 -o "$T/metrics.txt" -w '%{http_code}' "$URL/metrics" || true)
t2=$(date +%s)
[ "$code" = 200 ] && [ $((t2 - t1)) -le 10 ] && grep -q '^bootsign_requests_total' "$T/metrics.txt" ||
	{ kill -CONT "$kp_pid"; srv_fail "metrics with a stopped key process: $code after $((t2 - t1)) s"; }
kill -CONT "$kp_pid"
grep -q "healthz: the key process did not answer within" "$SRV_LOG" || srv_fail "healthz: no reason logged"
srv_healthy
srv_stop
echo "test_server_keyproc_stall: ok"
