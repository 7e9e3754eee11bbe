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
# Key isolation is the default: the demo keys were made in a child that exited, and the
# server process (which parses requests) holds none of their bytes after signing with
# them; the key process does (the control that shows the scan finds them). Needs root.
if [ "$(id -u)" = 0 ]; then
	needles=()
	for k in "$state"/pki/keys/CSF1_1_*_key.pem "$state"/pki/keys/IMG1_1_*_key.pem \
		"$state"/pki/keys/SRK1_*_key.pem; do
		hex=$(openssl rsa -in "$k" -passin "file:$state/pki/keys/key_pass.txt" -text \
			-noout 2>/dev/null | sed -n '/^privateExponent:/,/^prime1:/p' | sed '1d;$d' |
			tr -d ' :\n' | sed 's/^00//')
		[ ${#hex} -ge 96 ] || fail "cannot read the private exponent of $k"
		needles+=("${hex:0:48}" "$(printf %s "$hex" | fold -w2 | tac | tr -d '\n' | cut -c1-48)")
	done
	in_server=$(python3 "$BS_SRCDIR/tests/e2e/lib/memscan.py" "$PID" "${needles[@]}")
	[ -z "$in_server" ] || fail "the server process holds demo key bytes: $in_server"
	kp=$(sed -n 's/.*key process \([0-9]*\) started.*/\1/p' "$T/log" | tail -n1)
	[ -n "$kp" ] || fail "no key process by default"
	[ -n "$(python3 "$BS_SRCDIR/tests/e2e/lib/memscan.py" "$kp" "${needles[@]:0:4}")" ] ||
		fail "scan control: the signing keys are not in the key process either"
fi
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
