# Shared helpers for tests/e2e/test_server_*.sh: a throwaway key store, the daemon on a
# free loopback port, curl as build recipes call it, and independent checks of the CSF
# blob it returns (bootsign hab verify, csf_parser + openssl cms -verify).
# Sourced; expects BS_BIN, BS_FIXTURES. Sets T (temp dir), PORT, SRV_PID, SRV_LOG.

FIX=$BS_FIXTURES/hab4-vectors/rsa
TEST_PIN=e2e-pin-5150-do-not-log

srv_fail() { echo "FAIL: $*" >&2; [ -n "${SRV_LOG:-}" ] && [ -f "$SRV_LOG" ] && tail -n 20 "$SRV_LOG" >&2; exit 1; }

srv_cleanup() {
	if [ -n "${SRV_PID:-}" ] && kill -0 "$SRV_PID" 2>/dev/null; then
		kill -TERM "$SRV_PID" 2>/dev/null || true
		wait "$SRV_PID" 2>/dev/null || true
	fi
	[ -n "${T:-}" ] && rm -rf "$T"
}

# Key store: <T>/keys/<machine>/imxsign/imx-cst-keys.tar.gz from the CST test PKI
# (crts/ + keys/), the client files (flash.csf naming imx-boot-sd.bin, the IVT image).
srv_setup() {
	T=$(mktemp -d)
	trap srv_cleanup EXIT
	mkdir -p "$T/keys/imx8mp/imxsign" "$T/spool" "$T/client"
	tar -C "$FIX" -czf "$T/keys/imx8mp/imxsign/imx-cst-keys.tar.gz" crts keys
	cp "$FIX/u.bin" "$T/client/imx-boot-sd.bin"
	sed 's/"u.bin"/"imx-boot-sd.bin"/' "$FIX/u.csf" > "$T/client/flash.csf"
	SRV_LOG=$T/server.log
	cat > "$T/server.conf" <<CONF
# bootsign serve configuration for the e2e test
address = 127.0.0.1
keyfile_uri = file://$T/keys
spool_dir = $T/spool
log_level = info
CONF
	# BS_E2E_KEY_ISOLATION=yes runs every server test with the key process
	[ -n "${BS_E2E_KEY_ISOLATION:-}" ] && echo "key_isolation = $BS_E2E_KEY_ISOLATION" >> "$T/server.conf"
	return 0
}

# srv_start [extra serve args...]: start on a free port, wait until it answers.
srv_start() {
	: > "$SRV_LOG"
	YUBIHSM_PASSWORD=${SRV_PIN:-$TEST_PIN} "$BS_BIN" serve --port 0 --config "$T/server.conf" "$@" \
		2>>"$SRV_LOG" >"$T/server.out" &
	SRV_PID=$!
	PORT=
	for _ in $(seq 1 200); do
		PORT=$(sed -n 's/.*listening on [^ ]* port \([0-9]*\).*/\1/p' "$SRV_LOG" | head -n1)
		[ -n "$PORT" ] && break
		kill -0 "$SRV_PID" 2>/dev/null || srv_fail "server exited at startup"
		sleep 0.05
	done
	[ -n "$PORT" ] || srv_fail "server did not report its port"
	URL=http://127.0.0.1:$PORT
}

# srv_stop: SIGTERM, the process must exit 0.
srv_stop() {
	kill -TERM "$SRV_PID"
	local rc=0
	wait "$SRV_PID" || rc=$?
	SRV_PID=
	[ "$rc" -eq 0 ] || srv_fail "server exit status $rc after SIGTERM"
}

# srv_spool_empty: the server's private spool directory (bootsign-spool.* inside the
# configured one, while it runs) holds nothing, and the configured one nothing else.
srv_spool_empty() {
	local left
	left=$(cd "$T/spool" && find . -mindepth 1 ! -path './bootsign-spool.*' -print -o \
		-path './bootsign-spool.*/*' -print)
	[ -z "$left" ] || srv_fail "spool not empty: $left"
}

srv_healthy() {
	local code
	code=$(curl --silent --output /dev/null --write-out '%{http_code}' "$URL/healthz")
	[ "$code" = 200 ] || srv_fail "healthz answered $code"
}

# verify_blob CSF_BLOB ARTIFACT WORKDIR: put the blob at the IVT's CSF offset (0x2000 in
# the test image), verify offline, and check both CMS signatures with openssl.
verify_blob() {
	local blob=$1 art=$2 w=$3
	mkdir -p "$w"
	cp "$art" "$w/signed.img"
	dd if="$blob" of="$w/signed.img" bs=1 seek=8192 conv=notrunc status=none
	truncate -s 12288 "$w/signed.img"
	"$BS_BIN" hab verify --quiet --fuse "$FIX/crts/SRK_fuse.bin" --ivt-offset 0 \
		"$w/signed.img" || srv_fail "bootsign hab verify rejected the signed image"
	local hi lo len
	hi=$(od -An -tu1 -j1 -N1 "$blob" | tr -d ' ')
	lo=$(od -An -tu1 -j2 -N1 "$blob" | tr -d ' ')
	len=$((hi * 256 + lo))
	head -c "$len" "$blob" > "$w/cmds.bin"
	head -c 8192 "$art" > "$w/block.bin"
	(cd "$w" && csf_parser -c "$blob" >/dev/null 2>&1) || srv_fail "csf_parser failed"
	local csf_ok=0 img_ok=0 s
	for s in "$w"/output/sig*.bin; do
		if openssl cms -verify -binary -inform DER -in "$s" -content "$w/cmds.bin" \
			-noverify -certfile "$FIX/crts/CSF1_crt.pem" -out /dev/null 2>/dev/null; then
			csf_ok=1
		fi
		if openssl cms -verify -binary -inform DER -in "$s" -content "$w/block.bin" \
			-noverify -certfile "$FIX/crts/IMG1_crt.pem" -out /dev/null 2>/dev/null; then
			img_ok=1
		fi
	done
	[ "$csf_ok" = 1 ] || srv_fail "no CSF signature verifies over the command region"
	[ "$img_ok" = 1 ] || srv_fail "no image signature verifies over the signed block"
}

# The log must never contain the PIN or private key material.
srv_log_clean() {
	! grep -q -- "$TEST_PIN" "$SRV_LOG" || srv_fail "server log contains the PIN"
	local k line
	for k in "$FIX"/keys/*.pem; do
		line=$(sed -n 2p "$k")
		! grep -qF -- "$line" "$SRV_LOG" || srv_fail "server log contains key material"
	done
	! grep -q "PRIVATE KEY" "$SRV_LOG" || srv_fail "server log contains a PEM private key"
}
