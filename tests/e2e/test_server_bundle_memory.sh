#!/usr/bin/env bash
# Memory bounded by configuration, not by traffic (issue 14 item 5): 8 concurrent requests
# for a machine whose bundle holds 24 MiB share ONE parsed copy (one "parsed" log line;
# without sanitizers, resident memory grows by about one copy, not eight), and the copy is
# released once idle (key_cache_idle) with the memory given back.
set -euo pipefail
. "$BS_SRCDIR/tests/e2e/lib/server_common.sh"
srv_setup
mkdir -p "$T/b/junk"
tar -C "$T/b" -xzf "$T/keys/imx8mp/imxsign/imx-cst-keys.tar.gz"
for i in $(seq 24); do head -c 1048576 /dev/zero | tr '\0' 'U' > "$T/b/junk/$i"; done
tar -C "$T/b" -czf "$T/keys/imx8mp/imxsign/imx-cst-keys.tar.gz" crts keys junk
rm -rf "$T/b"
echo "key_cache_idle = 2" >> "$T/server.conf"
srv_start
rss() { awk '/^VmRSS/{print $2}' "/proc/$SRV_PID/status"; }
sanitized=0
libs=$(ldd "$BS_BIN" 2>/dev/null || true) # not piped into grep -q (pipefail + SIGPIPE)
[[ "$libs" == *libasan* ]] && sanitized=1
idle=$(rss)
cd "$T/client"
for i in $(seq 8); do
	curl -s -m 30 -o /dev/null -w '%{http_code}\n' -X POST -F machine=imx8mp -F soctype=mx8m \
		-F cstversion=3.3.2 -F "csf=@flash.csf;type=text/plain" -F "artifact=@imx-boot-sd.bin" \
		"$URL/sign/imx" > "code$i" &
done
wait $(jobs -p | grep -vx "$SRV_PID") || true
for i in $(seq 8); do [ "$(cat "code$i")" = 200 ] || srv_fail "request $i: $(cat "code$i")"; done
busy=$(rss)
parses=$(grep -c "key bundle imx8mp/imxsign/imx-cst-keys.tar.gz parsed" "$SRV_LOG" || true)
[ "$parses" = 1 ] || srv_fail "8 concurrent requests parsed the bundle $parses times"
echo "rss: idle ${idle} kB, after 8 concurrent requests ${busy} kB"
if [ "$sanitized" = 0 ]; then
	[ $((busy - idle)) -lt 81920 ] || srv_fail "resident memory grew by $((busy - idle)) kB (several copies?)"
fi
for _ in $(seq 50); do
	grep -q "imx-cst-keys.tar.gz released (idle" "$SRV_LOG" && break
	sleep 0.1
done
grep -q "imx-cst-keys.tar.gz released (idle" "$SRV_LOG" || srv_fail "the idle bundle was not released"
sleep 0.3
after=$(rss)
echo "rss: idle again ${after} kB"
if [ "$sanitized" = 0 ]; then
	[ $((after - idle)) -lt 16384 ] || srv_fail "memory not given back when idle ($after kB vs $idle kB)"
fi
code=$(curl -s -m 30 -o /dev/null -w '%{http_code}' -X POST -F machine=imx8mp -F soctype=mx8m \
	-F cstversion=3.3.2 -F "csf=@flash.csf;type=text/plain" -F "artifact=@imx-boot-sd.bin" "$URL/sign/imx")
[ "$code" = 200 ] || srv_fail "signing after the release: $code"
[ "$(grep -c "key bundle imx8mp/imxsign/imx-cst-keys.tar.gz parsed" "$SRV_LOG")" = 2 ] || srv_fail "not parsed again after release"
srv_stop
echo "ok: one shared bundle copy, released when idle"
