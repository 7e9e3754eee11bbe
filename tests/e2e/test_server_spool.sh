#!/usr/bin/env bash
# The configured spool_dir is not the server's (issue 14 item 4): a shared directory with
# /tmp's mode 1777 and other people's files (one named like a spool file) keeps its mode
# and its files while the server runs and after it stops; the server works in a 0700
# directory of its own inside it, removed at exit.
set -euo pipefail
. "$BS_SRCDIR/tests/e2e/lib/server_common.sh"
srv_setup
SH=$T/spool
chmod 1777 "$SH"
touch "$SH/bs-up-someone-elses-file" "$SH/unrelated"
mkdir "$SH/bootsign-spool.other"
srv_start
[ "$(stat -c %a "$SH")" = 1777 ] || srv_fail "spool_dir mode changed to $(stat -c %a "$SH")"
own=$(find "$SH" -mindepth 1 -maxdepth 1 -type d -name 'bootsign-spool.*' ! -name 'bootsign-spool.other')
[ "$(wc -l <<<"$own")" = 1 ] && [ -n "$own" ] || srv_fail "no private spool directory: $(ls -A "$SH")"
[ "$(stat -c %a "$own")" = 700 ] || srv_fail "private spool directory mode $(stat -c %a "$own")"
cd "$T/client"
head -c 300000 /dev/urandom > big.bin
code=$(curl -s -m 20 -o /dev/null -w '%{http_code}' -X POST -F machine=imx8mp -F soctype=mx8m \
	-F cstversion=3.3.2 -F "csf=@flash.csf;type=text/plain" -F "artifact=@big.bin" "$URL/sign/imx")
[ "$code" != 000 ] || srv_fail "no answer"
srv_stop
[ "$(stat -c %a "$SH")" = 1777 ] || srv_fail "spool_dir mode changed to $(stat -c %a "$SH") after exit"
[ "$(ls -A "$SH" | tr '\n' ' ')" = "bootsign-spool.other bs-up-someone-elses-file unrelated " ] ||
	srv_fail "spool_dir contents changed: $(ls -A "$SH")"
echo "ok: spool_dir untouched"
