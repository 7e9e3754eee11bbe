#!/usr/bin/env bash
# Secrets stay out of core files (issue 14 item 3). The server, holding the token PIN and
# the decrypted keys of an encrypted bundle (after one signing request), is killed with
# SIGSEGV under `ulimit -c unlimited`. Oracles:
#  - non-dumpable: the server runs as an ordinary user (nobody), and proc(5) makes every
#    /proc/<pid> file of a process whose dumpable attribute is not 1 owned by root; a
#    dumpable process's files are owned by its user. (`ulimit -c` is kept unlimited by the
#    shell, so only the process's own setrlimit can make its limit 0: checked in
#    /proc/<pid>/limits.)
#  - no core file appears; if the kernel's core_pattern still produced one, it must not
#    hold the PIN, the bundle passphrase or a secret prime of the bundle's CSF1 key.
set -euo pipefail
. "$BS_SRCDIR/tests/e2e/lib/server_common.sh"
RT=$BS_FIXTURES/red-team
srv_setup
mkdir -p "$T/keys/enc/imxsign"
cp "$RT/enc-bundle.tar.gz" "$T/keys/enc/imxsign/imx-cst-keys.tar.gz"
cp "$RT/enc.csf" "$T/client/enc.csf"
# As root the server runs as nobody (the ownership oracle needs an ordinary user); as an
# ordinary user it runs as that user and the ownership check is skipped.
AS=()
if [ "$(id -u)" = 0 ]; then
	chmod 755 "$T"
	chown -R nobody "$T"
	AS=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
fi
cd "$T"
ulimit -c unlimited
: > "$SRV_LOG"
YUBIHSM_PASSWORD=$TEST_PIN "${AS[@]}" \
	"$BS_BIN" serve --port 0 --config "$T/server.conf" 2>>"$SRV_LOG" >"$T/server.out" &
SRV_PID=$!
for _ in $(seq 1 200); do
	PORT=$(sed -n 's/.*listening on [^ ]* port \([0-9]*\).*/\1/p' "$SRV_LOG" | head -n1)
	[ -n "$PORT" ] && break
	sleep 0.05
done
[ -n "$PORT" ] || srv_fail "server did not start"
code=$(cd client && curl -s -m 20 -o /dev/null -w '%{http_code}' -X POST -F machine=enc -F soctype=mx8m \
	-F cstversion=3.3.2 -F "csf=@enc.csf;type=text/plain" -F "artifact=@imx-boot-sd.bin" \
	"http://127.0.0.1:$PORT/sign/imx")
[ "$code" = 200 ] || srv_fail "signing with the encrypted bundle: $code"
if [ ${#AS[@]} -gt 0 ]; then
	[ "$(stat -c %u "/proc/$SRV_PID")" = 65534 ] || srv_fail "the server does not run as nobody"
	owner=$(stat -c %u "/proc/$SRV_PID/status")
	[ "$owner" = 0 ] || srv_fail "the server is dumpable (/proc/$SRV_PID/status owned by uid $owner, not root)"
else
	echo "not root: dumpable check skipped"
fi
core_limit=$(awk '/^Max core file size/{print $5}' "/proc/$SRV_PID/limits")
[ "$core_limit" = 0 ] || srv_fail "core file size limit is $core_limit"
kill -SEGV "$SRV_PID"
wait "$SRV_PID" 2>/dev/null || true
SRV_PID=
sleep 0.2
core=$(find "$T" -maxdepth 2 -name 'core*' -type f | head -n1)
if [ -n "$core" ]; then
	! grep -qaF -- "$TEST_PIN" "$core" || srv_fail "core file $core holds the PIN"
	! grep -qaF -- "$(cat "$RT/enc-key_pass.txt")" "$core" || srv_fail "core file holds the passphrase"
	python3 - "$core" "$RT/enc-CSF1_key.pem" "$(cat "$RT/enc-key_pass.txt")" <<'PY' || srv_fail "core file holds a secret prime"
import re, subprocess, sys
core = open(sys.argv[1], "rb").read()
t = subprocess.run(["openssl", "rsa", "-in", sys.argv[2], "-passin", "pass:" + sys.argv[3],
                    "-text", "-noout"], capture_output=True, text=True, check=True).stdout
p = bytes.fromhex(re.sub(r"[\s:]", "", re.search(r"prime1:\n((?:\s+[0-9a-f:]+\n)+)", t).group(1))).lstrip(b"\0")
sys.exit(1 if p[:24] in core or p[::-1][:24] in core else 0)
PY
	srv_fail "a core file was written: $core"
fi
echo "ok: no core dump, server not dumpable"
