#!/usr/bin/env bash
# Type=notify readiness: bootsign serve sends READY=1 to $NOTIFY_SOCKET once it listens
# (systemctl start returns then), and STOPPING=1 on SIGTERM.
set -euo pipefail
. "$BS_SRCDIR/tests/e2e/lib/server_common.sh"
srv_setup
python3 - "$T/notify.sock" "$T/notify.txt" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(20)
with open(sys.argv[2], "a") as f:
    for _ in range(2):
        try:
            f.write(s.recv(4096).decode() + "\n")
            f.flush()
        except socket.timeout:
            break
PY
RECV=$!
for _ in $(seq 1 100); do [ -S "$T/notify.sock" ] && break; sleep 0.05; done
export NOTIFY_SOCKET=$T/notify.sock
srv_start
for _ in $(seq 1 100); do grep -q READY=1 "$T/notify.txt" 2>/dev/null && break; sleep 0.05; done
grep -q '^READY=1$' "$T/notify.txt" || srv_fail "no READY=1 on NOTIFY_SOCKET"
srv_healthy # ready means answering
srv_stop
wait "$RECV" || true
grep -q '^STOPPING=1$' "$T/notify.txt" || srv_fail "no STOPPING=1: $(cat "$T/notify.txt")"
echo ok
