#!/usr/bin/env bash
# Connections cannot be hoarded (issue 14 item 2), on loopback, bounded (~15 s):
#  - slowloris: 24 connections from one address trickle header lines for 6 s, which the
#    inactivity timeout never ends; header_timeout (3 s) closes them all anyway, /healthz
#    answers 200 throughout, a signing request from the hoarding address gets 503 with
#    Retry-After while it holds more than connections_per_client, 200 once they are gone.
#  - uploads: 12 slow uploads from one address with connections_per_client = 8: the ones
#    over the cap get 503 + Retry-After (never a reset), 5 more requests too; the 8 within
#    the cap finish with 200; refusals are logged (rate-limited).
set -euo pipefail
. "$BS_SRCDIR/tests/e2e/lib/server_common.sh"
HOARD="python3 $BS_SRCDIR/tests/e2e/lib/hoard.py"
srv_setup
cat >> "$T/server.conf" <<CONF
connection_limit = 16
connections_per_client = 8
header_timeout = 3
connection_timeout = 30
CONF
srv_start
cd "$T/client"

$HOARD slowloris "$PORT" 24 6 "$T/client" > slow.txt || srv_fail "slowloris driver failed"
cat slow.txt
! grep '^healthz' slow.txt | grep -vq '^healthz 200$' || srv_fail "/healthz did not answer 200 during the attack"
grep -q '^sign 503 5 ' slow.txt || srv_fail "no 503 with Retry-After for the hoarding client"
! grep '^sign' slow.txt | grep -q '^sign closed' || srv_fail "a signing request got no HTTP answer"
grep -q '^sign 200 ' slow.txt || srv_fail "signing did not recover while the attack went on"
[ "$(sed -n 's/^closed-by-server //p' slow.txt)" = 24 ] || srv_fail "trickling connections outlived header_timeout"
grep -q "request head not received within its time limit" "$SRV_LOG" || srv_fail "no log line for closed connections"
srv_healthy

sleep 1 # the probes' connections are gone
before=$(grep -c 'refused POST' "$SRV_LOG" || true)
$HOARD uploads "$PORT" 12 5 "$T/client" > up.txt || srv_fail "upload driver failed"
cat up.txt
[ "$(grep -c '^busy 200$' up.txt)" = 8 ] || srv_fail "the uploads within the cap did not all sign"
[ "$(grep -c '^busy 503$' up.txt)" = 4 ] || srv_fail "the uploads over the cap were not answered 503"
[ "$(grep -c '^extra 503 5$' up.txt)" = 5 ] || srv_fail "requests over the cap were not answered 503 + Retry-After"
grep -q "refused POST /sign/imx from 127.0.0.1" "$SRV_LOG" || srv_fail "no log line for refusals"
# 9 refusals within a second: at most 2 lines (one a second), the next counts the rest
[ $(($(grep -c 'refused POST' "$SRV_LOG") - before)) -le 2 ] || srv_fail "refusal log lines are not rate-limited"
srv_healthy
srv_spool_empty
srv_stop
echo "ok: connections cannot be hoarded"
