#!/usr/bin/env bash
# Soak (issue 14): SOAK_SECONDS (default 15, at most 60) of good file-key and token
# requests, token-name churn, slow connections and clients that disconnect mid-upload or
# before the answer. Every good request gets 200 or 503; afterwards the token's open
# sessions (counted by the shim), threads, file descriptors, spool and (without
# sanitizers) resident memory are back at their idle values.
set -euo pipefail
. "$BS_SRCDIR/tests/e2e/lib/server_common.sh"
. "$BS_SRCDIR/tests/e2e/lib/common.sh"
: "${BS_P11SHIM:?BS_P11SHIM (the shim module) must be set}"
SECS=${SOAK_SECONDS:-15}
[ "$SECS" -le 60 ] || SECS=60
srv_setup
MOD=/usr/lib/softhsm/libsofthsm2.so
softhsm_token "$T/hsm" YubiHSM "$TEST_PIN"
id=1
for k in CSF1 IMG1; do
	openssl pkey -in "$FIX/keys/${k}_key.pem" -outform DER -out "$T/$k.key.der"
	openssl x509 -in "$FIX/crts/${k}_crt.pem" -outform DER -out "$T/$k.crt.der"
	pkcs11-tool --module $MOD --token-label YubiHSM --login --pin "$TEST_PIN" --write-object \
		"$T/$k.key.der" --type privkey --id 0$id --label $k --usage-sign >/dev/null 2>&1
	pkcs11-tool --module $MOD --token-label YubiHSM --login --pin "$TEST_PIN" --write-object \
		"$T/$k.crt.der" --type cert --id 0$id --label $k >/dev/null 2>&1
	id=$((id + 1))
done
export P11SHIM_CTL=$T/shim.ctl P11SHIM_COUNT=$T/shim.count
: > "$P11SHIM_CTL"
cat >> "$T/server.conf" <<CONF
pkcs11_module = $BS_P11SHIM
pkcs11_pool_size = 2
header_timeout = 2
connections_per_client = 24
key_cache_idle = 2
CONF
srv_start
cd "$T/client"
sed -e 's#"crts/CSF1_crt.pem"#"pkcs11:token=YubiHSM;object=CSF1;type=cert;pin-value=password"#' \
	-e 's#"crts/IMG1_crt.pem"#"pkcs11:token=YubiHSM;object=IMG1;type=cert;pin-value=password"#' \
	flash.csf > token.csf
count() { sed -n "s/.*\\b$1=\\([0-9]*\\).*/\\1/p" "$P11SHIM_COUNT"; }
sessions() { echo $(($(count open) - $(count close))); }
state() { # threads fds rss(kB)
	echo "$(ls "/proc/$SRV_PID/task" | wc -l) $(ls "/proc/$SRV_PID/fd" | wc -l) $(awk '/^VmRSS/{print $2}' "/proc/$SRV_PID/status")"
}
warm() {
	for c in flash.csf token.csf; do
		b=; [ $c = token.csf ] && b="-F backend=pkcs11"
		code=$(curl -s -m 20 -o /dev/null -w '%{http_code}' -X POST -F machine=imx8mp -F soctype=mx8m \
			-F cstversion=3.3.2 $b -F "csf=@$c;type=text/plain" -F "artifact=@imx-boot-sd.bin" "$URL/sign/imx")
		[ "$code" = 200 ] || srv_fail "warm-up $c: $code"
	done
}
settle() { sleep 3; } # header_timeout, key_cache_idle and the watchdog tick have passed
warm
settle
read -r th0 fd0 rss0 <<<"$(state)"
s0=$(sessions)
echo "idle: threads=$th0 fds=$fd0 rss=${rss0}kB token sessions=$s0"
python3 "$BS_SRCDIR/tests/e2e/lib/soak.py" "$PORT" "$SECS" "$T/client" > soak.txt ||
	srv_fail "soak driver failed"
tail -n1 soak.txt
! grep '^good' soak.txt | grep -vqE '^good (200|503)$' || srv_fail "a good request got: $(grep '^good' soak.txt | grep -vE ' (200|503)$' | sort | uniq -c | tr '\n' ' ')"
[ "$(grep -c '^good 200$' soak.txt)" -ge 20 ] || srv_fail "too few good requests signed"
grep -qE "churn 4[0-9][0-9]" soak.txt || srv_fail "token-name churn was not answered 4xx"
! grep -qE "churn (5|2)[0-9][0-9]" soak.txt || srv_fail "token-name churn got a 2xx/5xx"
kill -0 "$SRV_PID" || srv_fail "the server died"
settle
warm
settle
read -r th1 fd1 rss1 <<<"$(state)"
s1=$(sessions)
echo "after: threads=$th1 fds=$fd1 rss=${rss1}kB token sessions=$s1"
# the pool keeps its sessions alive (at most pool_size) and opened no others
[ "$s1" -le 2 ] || srv_fail "token sessions $s0 -> $s1 (pool_size 2)"
[ "$(count open)" -le $((2 + $(count close))) ] || srv_fail "sessions opened beyond the pool"
[ "$th1" = "$th0" ] || srv_fail "threads $th0 -> $th1"
[ "$fd1" = "$fd0" ] || srv_fail "file descriptors $fd0 -> $fd1: $(ls -l /proc/$SRV_PID/fd | tail -n +2)"
libs=$(ldd "$BS_BIN" 2>/dev/null || true) # not piped into grep -q: with pipefail, grep's early
if [[ "$libs" != *libasan* ]]; then          # exit made ldd's SIGPIPE count as "no ASan"
	[ $((rss1 - rss0)) -lt 16384 ] || srv_fail "resident memory ${rss0} -> ${rss1} kB"
fi
srv_spool_empty
srv_log_clean
srv_stop
srv_spool_empty
echo "ok: soak"
