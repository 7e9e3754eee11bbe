#!/usr/bin/env bash
# Acceptance test of the HSM mode of `bootsign serve` (digsigserver's backend=pkcs11) on a
# private SoftHSM2 token that mimics a YubiHSM 2 (label YubiHSM, PIN 0001password):
#  1. a CST PKI made with the openssl CLI, its CSF/IMG keys put in the token with
#     `bootsign hsm import`; the machine's bundle holds only the SRK table and fuse; the
#     CSF names token objects with the placeholder pin-value=password; the server PIN
#     comes from YUBIHSM_PASSWORD, then from a 0600 PIN file;
#  2. a PKI made by `bootsign pki create --token` (keys generated in the token), its SRK
#     table compared with srktool's;
#  every returned CSF is inserted into an IVT image and checked by `bootsign hab verify
#  --fuse` and by `openssl cms -verify` over the exact signed bytes;
#  3. client PIN / module / pin-source refused, unknown object, key without certificate,
#     absent token, wrong server PIN (500, one login only, token still usable);
#  4. faults injected by tests/shim/p11shim.c in front of SoftHSM2: lost sessions
#     (recovered), device removed then restored (5xx quickly, then ok without restart),
#     slow token (503 + Retry-After, then ok); no request hangs;
#  5. the PIN is in no response, no log, and not in /proc/<pid>/environ.
set -euo pipefail
: "${BS_BIN:?}" "${BS_SRCDIR:?}" "${BS_P11SHIM:?BS_P11SHIM (the shim module) must be set}"
. "$BS_SRCDIR/tests/e2e/lib/server_common.sh"
. "$BS_SRCDIR/tests/e2e/lib/hab4.sh"

MOD=/usr/lib/softhsm/libsofthsm2.so
[ -e "$MOD" ] || { echo "FAIL: SoftHSM2 module $MOD missing (scripts/deps.sh test installs it)" >&2; exit 1; }
PIN=0001password
T=$(mktemp -d)
trap srv_cleanup EXIT
SRV_LOG=$T/server.log
ALL_LOGS=$T/all-server.log
: > "$ALL_LOGS"
CURL=(curl --silent --max-time 20)
T0=$(date +%s)

# --- token ---------------------------------------------------------------------------
mkdir -p "$T/tokens" "$T/keys" "$T/spool" "$T/c"
printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' \
	"$T" > "$T/softhsm2.conf"
export SOFTHSM2_CONF=$T/softhsm2.conf
softhsm2-util --init-token --free --label YubiHSM --so-pin 12345678 --pin "$PIN" >/dev/null
(umask 077 && printf '%s\n' "$PIN" > "$T/pin.txt")
export P11SHIM_CTL=$T/shim.ctl P11SHIM_COUNT=$T/shim.count
EPOCH=1
shim() { printf 'epoch=%d\n%s' "$EPOCH" "$1" > "$P11SHIM_CTL"; EPOCH=$((EPOCH + 1)); }
shim_count() { sed -n "s/.*\\b$1=\\([0-9]*\\).*/\\1/p" "$P11SHIM_COUNT"; }
shim ""

# --- PKI A: openssl CLI, keys imported with bootsign hsm import ---------------------------
hab4_pki "$T/pkiA" rsa2048
A_CSF=CSF1_1_sha256_2048_usr
A_IMG=IMG1_1_sha256_2048_usr
imp() { # NAME LABEL ID
	"$BS_BIN" hsm import --token 'pkcs11:token=YubiHSM' --module "$MOD" --pin-file "$T/pin.txt" \
		--cert "$T/pkiA/crts/$1_crt.pem" --key "$T/pkiA/keys/$1_key.pem" --label "$2" \
		--id "$3" > "$T/import.out" 2>&1 || srv_fail "hsm import $1: $(cat "$T/import.out")"
}
imp CSF1 "$A_CSF" a1
imp IMG1 "$A_IMG" a2
# a private key without certificate object (pkcs11-tool, as the issue says)
openssl pkey -in "$T/pkiA/keys/CSFX_key.pem" -passin "file:$T/pkiA/keys/key_pass.txt" \
	-outform DER -out "$T/nocert.der"
pkcs11-tool --module "$MOD" --token-label YubiHSM --login --pin "$PIN" --write-object \
	"$T/nocert.der" --type privkey --label NOCERT --id b1 --usage-sign >/dev/null 2>&1 ||
	srv_fail "pkcs11-tool could not write the key-only object"
rm -f "$T/nocert.der"

# bundle: ONLY the SRK table and the fuse
bundle() { # PKIDIR MACHINE
	mkdir -p "$T/keys/$2/imxsign"
	tar -C "$1" -czf "$T/keys/$2/imxsign/imx-cst-keys.tar.gz" crts/SRK_1_2_3_4_table.bin \
		crts/SRK_1_2_3_4_fuse.bin
	[ "$(tar -tzf "$T/keys/$2/imxsign/imx-cst-keys.tar.gz" | wc -l)" = 2 ] ||
		srv_fail "bundle of $2 holds more than the SRK table and fuse"
}
bundle "$T/pkiA" hsm-a

uri() { echo "pkcs11:token=${3:-YubiHSM};object=$1;type=cert$2"; }
csf_for() { # OUT CSFLABEL IMGLABEL [PINPART] [TOKEN]
	local pp=${4-";pin-value=password"}
	hab4_csf_text crts/SRK_1_2_3_4_table.bin "$(uri "$2" "$pp" "${5:-}")" \
		"$(uri "$3" "$pp" "${5:-}")" image.bin > "$T/c/$1"
}
cd "$T/c"
hab4_image image.bin
csf_for a.csf "$A_CSF" "$A_IMG"
grep -q 'object=CSF1_1_sha256_2048_usr;type=cert;pin-value=password"' a.csf ||
	srv_fail "CSF does not carry the issue's URI form"

# --- server helpers -------------------------------------------------------------------
# conf MODULE [extra lines...]
conf() {
	local m=$1
	shift
	{
		echo "address = 127.0.0.1"
		echo "keyfile_uri = file://$T/keys"
		echo "spool_dir = $T/spool"
		echo "log_level = info"
		[ -n "$m" ] && echo "pkcs11_module = $m"
		[ -n "${BS_E2E_KEY_ISOLATION:-}" ] && echo "key_isolation = $BS_E2E_KEY_ISOLATION"
		printf '%s\n' "$@"
	} > "$T/server.conf"
}
# start VAR=VALUE...: the server with exactly these extra environment variables
start() {
	[ -f "$SRV_LOG" ] && cat "$SRV_LOG" >> "$ALL_LOGS"
	: > "$SRV_LOG"
	env -u YUBIHSM_PASSWORD -u DIGSIGSERVER_YUBIHSM_PASSWORD "$@" \
		"$BS_BIN" serve --port 0 --config "$T/server.conf" 2>>"$SRV_LOG" >"$T/server.out" &
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
stop() { srv_stop; cat "$SRV_LOG" >> "$ALL_LOGS"; : > "$SRV_LOG"; }
# post MACHINE CSF: the recipe's curl; sets CODE, BODY (file), HDRS (file), SECS
N=0
post() {
	N=$((N + 1))
	BODY=$T/c/resp$N.bin
	HDRS=$T/c/hdrs$N.txt
	local t0 t1
	t0=$(date +%s%N)
	CODE=$("${CURL[@]}" -D "$HDRS" -o "$BODY" -w '%{http_code}' -X POST -F machine="$1" \
		-F soctype=mx8m -F cstversion=3.3.2 -F backend=pkcs11 \
		-F "csf=@$2;type=text/plain" -F "artifact=@image.bin" "$URL/sign/imx") || CODE=curl$?
	t1=$(date +%s%N)
	SECS=$(((t1 - t0) / 1000000000))
}
expect() { # CODE WHAT
	[ "$CODE" = "$1" ] || srv_fail "$2: HTTP $CODE, expected $1: $(head -c 300 "$BODY" 2>/dev/null)"
}

# verify_signed CSFBLOB PKIDIR CSFCERT IMGCERT: insert into the image, bootsign hab verify
# with the fuse, then openssl cms -verify of both signatures over the exact signed bytes.
verify_signed() {
	local csf=$1 pki=$2 csfcrt=$3 imgcrt=$4 w
	w=$(mktemp -d "$T/v.XXXXXX")
	[ "$(stat -c %s "$csf")" -le $((HAB4_SIZE - HAB4_CSF)) ] || srv_fail "CSF too large"
	cp image.bin "$w/signed.bin"
	dd if="$csf" of="$w/signed.bin" bs=1 seek=$HAB4_CSF conv=notrunc status=none
	"$BS_BIN" hab verify --fuse "$pki/crts/SRK_1_2_3_4_fuse.bin" "$w/signed.bin" \
		> "$w/verify.log" 2>&1 || srv_fail "hab verify: $(cat "$w/verify.log")"
	hab4_walk "$csf" > "$w/walk.txt" || srv_fail "cannot walk the CSF blob"
	local hdr nauth=0 key off rest cert
	hdr=$(awk '$1 == "hdr" {print $2}' "$w/walk.txt")
	while read -r _ key off rest; do
		nauth=$((nauth + 1))
		hab4_blob "$csf" "$off" "$w/sig.der"
		if [ "$key" = 1 ]; then
			head -c "$hdr" "$csf" > "$w/signed.dat"
			cert=$csfcrt
		else
			: > "$w/signed.dat"
			set -- $rest
			while [ $# -ge 2 ]; do
				dd if="$w/signed.bin" bs=1 skip=$(($1 - HAB4_BASE)) count="$2" \
					status=none >> "$w/signed.dat"
				shift 2
			done
			cert=$imgcrt
		fi
		openssl cms -verify -binary -inform DER -in "$w/sig.der" -content "$w/signed.dat" \
			-noverify -certfile "$cert" -out /dev/null 2>"$w/cms.log" ||
			srv_fail "openssl cms -verify (key $key): $(cat "$w/cms.log")"
		printf '\x5a' | dd of="$w/signed.dat" bs=1 seek=0 conv=notrunc status=none
		printf '\xa5' | dd of="$w/signed.dat" bs=1 seek=1 conv=notrunc status=none
		! openssl cms -verify -binary -inform DER -in "$w/sig.der" -content "$w/signed.dat" \
			-noverify -certfile "$cert" -out /dev/null 2>/dev/null ||
			srv_fail "openssl cms accepted altered content (key $key)"
	done < <(awk '$1 == "auth"' "$w/walk.txt")
	[ "$nauth" = 2 ] || srv_fail "expected 2 signatures, found $nauth"
	rm -rf "$w"
}
no_pin_in() { # FILE... : the PIN appears in none of them
	local f
	for f in "$@"; do
		! grep -aq -- "$PIN" "$f" || srv_fail "PIN found in $f"
	done
}

# === run 1: YUBIHSM_PASSWORD, default module (p11-kit proxy sees the SoftHSM2 token) ====
# the audit log is sealed with a token key (audit_key as a pkcs11: URI)
conf "" "pkcs11_pool_size = 2" "audit_log = $T/audit1.log" \
	"audit_key = pkcs11:token=YubiHSM;object=$A_IMG"
start YUBIHSM_PASSWORD="$PIN"
# config.c scrubs the PIN variables: not even the initial environment block holds it
! grep -aq -- "$PIN" "/proc/$SRV_PID/environ" || srv_fail "PIN still in /proc/$SRV_PID/environ"
post hsm-a a.csf
expect 200 "PKI A, YUBIHSM_PASSWORD"
grep -qi 'filename="artifact.signed"' "$HDRS" || srv_fail "no digsigserver Content-Disposition"
verify_signed "$BODY" "$T/pkiA" "$T/pkiA/crts/CSF1_crt.pem" "$T/pkiA/crts/IMG1_crt.pem"
grep -q "keys=.*$A_CSF" "$SRV_LOG" || srv_fail "token objects not named in the request log"

# absent pin-value: accepted
csf_for nopin.csf "$A_CSF" "$A_IMG" ""
post hsm-a nopin.csf
expect 200 "URI without pin-value"
verify_signed "$BODY" "$T/pkiA" "$T/pkiA/crts/CSF1_crt.pem" "$T/pkiA/crts/IMG1_crt.pem"

# client PINs, PIN sources and modules: 400, value not echoed
for bad in ";pin-value=1234" ";pin-value=$PIN" ";pin-source=file:$T/pin.txt" \
	";module-path=$BS_P11SHIM"; do
	csf_for bad.csf "$A_CSF" "$A_IMG" "$bad"
	post hsm-a bad.csf
	expect 400 "URI with '$bad'"
	grep -q 'bad.csf:[0-9]*:[0-9]*' "$BODY" || srv_fail "'$bad': no CSF position: $(cat "$BODY")"
done
! grep -q 1234 "$BODY" "$T"/c/resp$((N - 3)).bin || srv_fail "client pin-value echoed"

# unknown object: 400 naming it
csf_for unknown.csf "$A_CSF" NO_SUCH_KEY_42
post hsm-a unknown.csf
expect 400 "unknown token object"
grep -q NO_SUCH_KEY_42 "$BODY" || srv_fail "unknown object not named: $(cat "$BODY")"

# a key without certificate object: 400 saying so
csf_for nocert.csf NOCERT "$A_IMG"
post hsm-a nocert.csf
expect 400 "key without certificate"
grep -q 'NOCERT.*no certificate' "$BODY" || srv_fail "key without cert: $(cat "$BODY")"

# a token that is not there: a 4xx naming the token and the tokens there are (issue 10), quickly
csf_for absent.csf "$A_CSF" "$A_IMG" ";pin-value=password" NoSuchHSM
post hsm-a absent.csf
case "$CODE" in 4??) ;; *) srv_fail "absent token: HTTP $CODE $(cat "$BODY")" ;; esac
grep -q "token 'NoSuchHSM' not present: the PKCS#11 module has no token with that label" "$BODY" || srv_fail "absent token body: $(cat "$BODY")"
[ "$SECS" -lt 5 ] || srv_fail "absent token took ${SECS}s"
# and the real token keeps working
post hsm-a a.csf
expect 200 "after the absent token"
no_pin_in "$T"/c/resp*.bin "$T"/c/hdrs*.txt "$SRV_LOG" "$T/server.out"
srv_healthy
srv_spool_empty
stop
openssl x509 -in "$T/pkiA/crts/IMG1_crt.pem" -pubkey -noout > "$T/audit1.pub"
tail -n1 "$T/audit1.log" | grep -q 'seal=' || srv_fail "no closing seal signed by the token key"
"$BS_BIN" audit verify "$T/audit1.log" --key "$T/audit1.pub" >/dev/null ||
	srv_fail "audit log sealed with a token key does not verify"

# === run 2: PIN file (0600), the fault-injecting shim as module; PKI A and PKI B ========
# PKI B: keys generated inside the token by bootsign pki create
"$BS_BIN" pki create --out "$T/pkiB" --key p256 --token 'pkcs11:token=YubiHSM' \
	--module "$MOD" --pin-file "$T/pin.txt" > "$T/pkiB.out" 2>&1 ||
	srv_fail "pki create --token: $(cat "$T/pkiB.out")"
[ ! -e "$T/pkiB/keys" ] || srv_fail "pki create --token wrote a keys/ directory"
cd "$T/pkiB"
B_CSFCRT=$(ls crts/CSF1_1_*_usr_crt.pem)
B_IMGCRT=$(ls crts/IMG1_1_*_usr_crt.pem)
B_CSF=$(basename "$B_CSFCRT" _crt.pem)
B_IMG=$(basename "$B_IMGCRT" _crt.pem)
srktool -h 4 -t "$T/srkB_table.bin" -e "$T/srkB_fuse.bin" -d sha256 -f 1 \
	-c "$(ls crts/SRK1_*_ca_crt.pem),$(ls crts/SRK2_*_ca_crt.pem),$(ls crts/SRK3_*_ca_crt.pem),$(ls crts/SRK4_*_ca_crt.pem)" \
	>/dev/null
cmp "$T/srkB_table.bin" crts/SRK_1_2_3_4_table.bin || srv_fail "pki create: SRK table differs from srktool"
cmp "$T/srkB_fuse.bin" crts/SRK_1_2_3_4_fuse.bin || srv_fail "pki create: fuse differs from srktool"
bundle "$T/pkiB" hsm-b
cd "$T/c"
csf_for b.csf "$B_CSF" "$B_IMG"

conf "$BS_P11SHIM" "pkcs11_pin_file = $T/pin.txt" "pkcs11_pool_size = 2" \
	"pkcs11_timeout_ms = 1500"
# a PIN file others can read is refused at start-up, naming the file, not the PIN
chmod 644 "$T/pin.txt"
rc=0
timeout 20 "$BS_BIN" serve --port 0 --config "$T/server.conf" > "$T/refused.out" 2>&1 || rc=$?
[ "$rc" != 0 ] && [ "$rc" != 124 ] || srv_fail "0644 PIN file: serve exit $rc"
grep -q "pin.txt" "$T/refused.out" || srv_fail "0644 PIN file: $(cat "$T/refused.out")"
no_pin_in "$T/refused.out"
chmod 600 "$T/pin.txt"
shim "reset_counts=1
"
start
post hsm-a a.csf
expect 200 "PKI A, PIN file, shim"
verify_signed "$BODY" "$T/pkiA" "$T/pkiA/crts/CSF1_crt.pem" "$T/pkiA/crts/IMG1_crt.pem"
post hsm-b b.csf
expect 200 "PKI B (pki create --token)"
verify_signed "$BODY" "$T/pkiB" "$T/pkiB/$B_CSFCRT" "$T/pkiB/$B_IMGCRT"
# 8 concurrent requests share the 2 pooled sessions: all signed, one login, <= 2 sessions
pids=()
for i in 1 2 3 4 5 6 7 8; do
	"${CURL[@]}" -o "$T/c/par$i.bin" -w '%{http_code}' -X POST -F machine=hsm-a -F soctype=mx8m \
		-F cstversion=3.3.2 -F backend=pkcs11 -F "csf=@a.csf;type=text/plain" \
		-F "artifact=@image.bin" "$URL/sign/imx" > "$T/c/par$i.code" &
	pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || true; done
for i in 1 2 3 4 5 6 7 8; do
	[ "$(cat "$T/c/par$i.code")" = 200 ] || srv_fail "concurrent request $i: $(cat "$T/c/par$i.code")"
done
verify_signed "$T/c/par8.bin" "$T/pkiA" "$T/pkiA/crts/CSF1_crt.pem" "$T/pkiA/crts/IMG1_crt.pem"
[ "$(shim_count login)" = 1 ] || srv_fail "expected one login, shim saw $(shim_count login)"
[ "$(shim_count open)" -le 2 ] || srv_fail "pool of 2 opened $(shim_count open) sessions"
# /metrics shows the token's pool (from the key process under key isolation): 2 sessions,
# none in use and nobody waiting once the requests are answered
curl --silent --fail -o "$T/c/metrics.txt" "$URL/metrics" || srv_fail "/metrics"
for m in 'bootsign_token_sessions{token="YubiHSM"} 2' \
	'bootsign_token_sessions_in_use{token="YubiHSM"} 0' \
	'bootsign_token_waiting{token="YubiHSM"} 0'; do
	grep -qxF "$m" "$T/c/metrics.txt" || srv_fail "/metrics lacks '$m': $(grep token "$T/c/metrics.txt")"
done

# the token invalidates our session: recovered inside the request
shim "fail_session=1
"
post hsm-b b.csf
expect 200 "after an invalidated session"
verify_signed "$BODY" "$T/pkiB" "$T/pkiB/$B_CSFCRT" "$T/pkiB/$B_IMGCRT"
grep -q "lost its sessions; re-opening" "$SRV_LOG" || srv_fail "recovery not logged"
# the token drops every session (YubiHSM idle reclaim)
shim "close_all=1
"
post hsm-a a.csf
expect 200 "after every session was closed"

# device removed: clear 5xx, quickly; restored: served again, same server process
shim "removed=1
"
for _ in 1 2; do
	post hsm-b b.csf
	case "$CODE" in 5??) ;; *) srv_fail "device removed: HTTP $CODE $(cat "$BODY")" ;; esac
	grep -q "YubiHSM.*not present\|YubiHSM.*REMOVED" "$BODY" ||
		srv_fail "device removed: unclear body: $(cat "$BODY")"
	[ "$SECS" -lt 5 ] || srv_fail "device removed: request took ${SECS}s"
done
shim "removed=0
"
post hsm-b b.csf
expect 200 "device restored"
verify_signed "$BODY" "$T/pkiB" "$T/pkiB/$B_CSFCRT" "$T/pkiB/$B_IMGCRT"

# slow token: C_Sign sleeps 8 s, op timeout 1.5 s. Each of two requests times out on its
# own session (503 + Retry-After, no hang); both sessions stay quarantined until their
# stuck call returns, so a third request finds the pool busy: 503 + Retry-After too.
shim "sleep_sign_ms=8000
"
for i in 1 2; do
	if [ "$i" = 1 ]; then
		# while this request waits on the stuck token, other connections are served at
		# once: the health check does not queue behind it
		(for _ in 1 2 3; do
			sleep 0.3
			h0=$(date +%s%N)
			hc=$(curl --silent --max-time 3 -o /dev/null -w '%{http_code}' "$URL/healthz")
			echo "$hc $((($(date +%s%N) - h0) / 1000000))"
		done) > "$T/healthz.txt" &
		HZ=$!
	fi
	post hsm-a a.csf
	if [ "$i" = 1 ]; then
		wait "$HZ"
		while read -r hc hms; do
			[ "$hc" = 200 ] && [ "$hms" -lt 1000 ] ||
				srv_fail "healthz during a stuck token call: HTTP $hc after ${hms} ms"
		done < "$T/healthz.txt"
		[ "$(wc -l < "$T/healthz.txt")" = 3 ] || srv_fail "healthz probes missing"
	fi
	expect 503 "slow token ($i)"
	grep -qi '^Retry-After: *[0-9]' "$HDRS" || srv_fail "503 without Retry-After: $(cat "$HDRS")"
	grep -q 'timed out after 1500 ms' "$BODY" || srv_fail "slow token body: $(cat "$BODY")"
	[ "$SECS" -lt 4 ] || srv_fail "slow token: request took ${SECS}s"
done
post hsm-a a.csf
expect 503 "pool busy with stuck sessions"
grep -qi '^Retry-After: *[0-9]' "$HDRS" || srv_fail "503 (busy) without Retry-After: $(cat "$HDRS")"
grep -q 'sessions busy' "$BODY" || srv_fail "busy body: $(cat "$BODY")"
[ "$SECS" -lt 4 ] || srv_fail "busy token: request took ${SECS}s"
shim ""
ok=0
for _ in $(seq 1 16); do
	post hsm-a a.csf
	if [ "$CODE" = 200 ]; then ok=1; break; fi
	[ "$CODE" = 503 ] || srv_fail "after the slow token: HTTP $CODE $(cat "$BODY")"
	grep -qi '^Retry-After:' "$HDRS" || srv_fail "503 without Retry-After"
	sleep 0.5
done
[ "$ok" = 1 ] || srv_fail "requests still failing after the token recovered"
verify_signed "$BODY" "$T/pkiA" "$T/pkiA/crts/CSF1_crt.pem" "$T/pkiA/crts/IMG1_crt.pem"
post hsm-b b.csf
expect 200 "second request after the slow token"
no_pin_in "$T"/c/resp*.bin "$T"/c/hdrs*.txt "$SRV_LOG" "$T/server.out"
srv_spool_empty
# SIGTERM while a token call is stuck: the server still exits 0, promptly
shim "sleep_sign_ms=3000
"
post hsm-a a.csf
expect 503 "slow token before shutdown"
t_stop=$(date +%s)
stop
[ $(($(date +%s) - t_stop)) -lt 10 ] || srv_fail "shutdown with a stuck token call took too long"
shim ""

# === run 3: wrong PIN in DIGSIGSERVER_YUBIHSM_PASSWORD: 500, one login, not locked =====
conf "$BS_P11SHIM" "pkcs11_pool_size = 2"
shim "reset_counts=1
"
start DIGSIGSERVER_YUBIHSM_PASSWORD=0001wrongpass
! grep -aq 0001wrongpass "/proc/$SRV_PID/environ" || srv_fail "wrong PIN still in the environment"
for _ in 1 2 3; do
	post hsm-a a.csf
	expect 500 "wrong server PIN"
	grep -q '^server configuration error (request id [0-9a-f]*)$' "$BODY" ||
		srv_fail "wrong PIN body: $(cat "$BODY")"
done
[ "$(shim_count login)" = 1 ] || srv_fail "wrong PIN tried $(shim_count login) times (must be once)"
grep -q "wrong PIN" "$SRV_LOG" || srv_fail "wrong PIN not explained in the log"
! grep -q 0001wrongpass "$SRV_LOG" "$T"/c/resp*.bin || srv_fail "wrong PIN echoed"
stop
pkcs11-tool --module "$MOD" --token-label YubiHSM --login --pin "$PIN" -O > "$T/after.txt" 2>&1 ||
	srv_fail "token unusable after the wrong-PIN server: $(cat "$T/after.txt")"
grep -q "$A_CSF" "$T/after.txt" || srv_fail "token objects not listed after login"

no_pin_in "$ALL_LOGS"
echo "test_server_hsm: ok ($N requests, $(($(date +%s) - T0)) s)"
