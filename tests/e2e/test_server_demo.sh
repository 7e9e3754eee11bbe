#!/usr/bin/env bash
# bootsign serve with no configuration: creates a demo HAB4 PKI in the state directory,
# prints the SRK fuse hash and a ready-to-paste curl command, and that command signs the
# sample image so that it verifies against the printed fuse hash. A restart reuses it.
set -euo pipefail
T=$(mktemp -d)
PID=
cleanup() {
	[ -n "$PID" ] && kill -TERM "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; cat "$T/log" >&2 || true; exit 1; }
unset DIGSIGSERVER_KEYFILE_URI
export XDG_STATE_HOME=$T/xdg

start() {
	: > "$T/out"
	"$BS_BIN" serve --port 0 > "$T/out" 2> "$T/log" &
	PID=$!
	for _ in $(seq 1 600); do
		grep -q 'curl --fail-with-body' "$T/out" 2>/dev/null && return 0
		kill -0 "$PID" 2>/dev/null || fail "server exited"
		sleep 0.1
	done
	fail "no banner"
}
stop() {
	kill -TERM "$PID"
	wait "$PID" || fail "exit status after SIGTERM"
	PID=
}

start
state=$T/xdg/bootsign
[ -f "$state/keys/demo/imxsign/imx-cst-keys.tar.gz" ] || fail "no demo bundle"
[ "$(stat -c %a "$state")" = 700 ] || fail "state dir not private"
fuse=$(sed -n 's/.*SRK fuse hash (SHA-256): \([0-9a-f]*\).*/\1/p' "$T/out")
[ "$fuse" = "$(od -An -tx1 -v "$state/pki/crts/SRK_1_2_3_4_fuse.bin" | tr -d ' \n')" ] ||
	fail "printed fuse hash differs from the fuse file"
# The printed fuse hash recomputed independently by srktool from the demo certificates.
(cd "$T" && srktool -h 4 -t tbl.bin -e fuse.bin -d sha256 -f 1 \
	-c "$(ls "$state"/pki/crts/SRK*_ca_crt.pem | tr '\n' ',' | sed 's/,$//')" >/dev/null)
[ "$fuse" = "$(od -An -tx1 -v "$T/fuse.bin" | tr -d ' \n')" ] || fail "srktool disagrees"

# Every printed command runs as pasted, in a shell without bootsign on PATH: sign,
# insert, verify (the verify line names the binary's real path).
cmd=$(grep 'curl --fail-with-body' "$T/out" | sed 's/^ *//')
(cd "$T" && eval "$cmd") || fail "printed curl command failed"
ins=$(grep '^ *cp .* && dd ' "$T/out" | sed 's/^ *//')
ver=$(grep ' hab verify --fuse ' "$T/out" | sed 's/^ *//')
case "$ver" in /*) ;; *) fail "verify hint is not an absolute path: $ver" ;; esac
(cd "$T" && eval "$ins" && PATH=/usr/bin:/bin eval "$ver" >/dev/null) ||
	fail "printed insert/verify commands failed"
# keys for every other format, private ones 0600
for k in kmodsign/kernel-signkey.priv swupdate/rsa-private.key swupdate/cms-private.key \
	opteesign/optee-signing-key.pem uefisign/db.key fitimagesign/dev.key mender/private.key; do
	[ "$(stat -c %a "$state/keys/demo/$k")" = 600 ] || fail "demo key $k missing or not 0600"
done
for c in kmodsign/kernel-signkey.x509 swupdate/cms.cert uefisign/db.crt fitimagesign/dev.crt; do
	openssl x509 -noout -in "$state/keys/demo/$c" || fail "demo certificate $c"
done
cmp <(openssl x509 -noout -pubkey -in "$state/keys/demo/uefisign/db.crt") \
	<(openssl pkey -pubout -in "$state/keys/demo/uefisign/db.key") || fail "db.crt/db.key"
stop

# Second start: same key store, no new PKI.
start
grep -q "creating a demo" "$T/log" && fail "PKI re-created on restart"
[ "$(sed -n 's/.*SRK fuse hash (SHA-256): \([0-9a-f]*\).*/\1/p' "$T/out")" = "$fuse" ] ||
	fail "fuse changed on restart"
stop
echo "test_server_demo: ok"
