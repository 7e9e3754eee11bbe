#!/usr/bin/env bash
# The key process's sandbox and the parsing process's privilege drop (docs/security.md,
# "Key isolation" and "Dropping root"), as root:
# 1. key_isolation = yes, no `user`: the loud warning is logged once; every thread of the
#    key process runs under the seccomp filter (Seccomp: 2) and has its secure heap locked
#    (VmLck > 0), and the PIN and the keys' private exponents (BIGNUM limbs) are in locked
#    memory; file keys and SoftHSM2 token keys still sign (verified).
# 2. user = nobody: every thread of the parsing process is uid/gid nobody with no
#    capabilities (effective, permitted, bounding) and NoNewPrivs 1; the key process is
#    still root; signing through spool files works and the spool is removed at exit.
# 3. Clear start-up errors naming the setting: an unknown user; user = nobody without key
#    isolation when nobody cannot read the keys; a non-root server asked to become root.
set -euo pipefail
. "$BS_SRCDIR/tests/e2e/lib/server_common.sh"
. "$BS_SRCDIR/tests/e2e/lib/common.sh"
. "$BS_SRCDIR/tests/e2e/lib/keyproc.sh"
[ "$(id -u)" = 0 ] || { echo "test_server_sandbox: skipped (needs root)"; exit 0; }
unset BS_E2E_KEY_ISOLATION # this test chooses isolation itself
srv_setup
kp_setup
cp "$T/server.conf" "$T/base.conf"
kp_conf >> "$T/server.conf"
NOBODY=$(id -u nobody)
NOGROUP=$(id -g nobody)

cd "$T/client"
sign_both() { # sign_both TAG: file keys and token keys, both verified
	local code
	code=$(kp_sign flash.csf "file.$1")
	[ "$code" = 200 ] || srv_fail "$1: file keys: $code $(head -c 300 "file.$1")"
	verify_blob "$T/client/file.$1" "$T/client/imx-boot-sd.bin" "$T/v.file.$1"
	code=$(kp_sign hsm.csf "hsm.$1" -F backend=pkcs11)
	[ "$code" = 200 ] || srv_fail "$1: token keys: $code $(head -c 300 "hsm.$1")"
	verify_blob "$T/client/hsm.$1" "$T/client/imx-boot-sd.bin" "$T/v.hsm.$1"
}
status() { # status FILE FIELD: the value of FIELD in /proc/<pid>/status
	sed -n "s/^$2:[[:space:]]*//p" "$1" | tr -s ' \t' ' ' | sed 's/ *$//'
}
# --- 1. the key process's filter and memory lock -------------------------------------
SRV_PIN=" " srv_start
[ "$(grep -c 'running as root without `user`' "$SRV_LOG")" = 1 ] ||
	srv_fail "no (or more than one) warning about running as root without user"
grep -q "key process: seccomp filter on" "$SRV_LOG" || srv_fail "filter not reported"
grep -q "key process: secure heap locked in memory" "$SRV_LOG" || srv_fail "mlock not reported"
sign_both isolated
kp=$(kp_pid)
[ -n "$kp" ] && kill -0 "$kp" || srv_fail "no key process pid in the log"
ntask=0
for st in /proc/"$kp"/task/*/status; do
	[ "$(status "$st" Seccomp)" = 2 ] || srv_fail "key process task $st: Seccomp $(status "$st" Seccomp)"
	ntask=$((ntask + 1))
done
[ "$ntask" -ge 1 ] || srv_fail "no task of the key process"
[ "$(status /proc/"$SRV_PID"/status Seccomp)" = 0 ] || srv_fail "the server itself is filtered?"
lck=$(status /proc/"$kp"/status VmLck | cut -d' ' -f1)
[ "${lck:-0}" -gt 0 ] || srv_fail "key process VmLck ${lck:-none}"
# The PIN (in the secure heap) and the private exponents as BIGNUM limbs (little-endian,
# decoded by OpenSSL into the secure heap) are in locked mappings of the key process.
needles=("$(printf %s "$TEST_PIN" | od -An -tx1 | tr -d ' \n')")
for k in CSF1 IMG1; do
	hex=$(openssl rsa -in "$FIX/keys/${k}_key.pem" -text -noout 2>/dev/null |
		sed -n "/^privateExponent:/,/^[a-zA-Z]/p" | sed '1d;$d' | tr -d ' :\n' | sed 's/^00//')
	[ ${#hex} -ge 96 ] || srv_fail "cannot read the private exponent of $k"
	needles+=("$(printf %s "$hex" | fold -w2 | tac | tr -d '\n' | cut -c1-48)")
done
locked=$(python3 "$BS_SRCDIR/tests/e2e/lib/memscan.py" --locked "$kp" "${needles[@]}")
echo "$locked" | grep -qx "${needles[0]}" || srv_fail "the PIN is not in locked memory"
[ "$(echo "$locked" | grep -c .)" -ge 2 ] ||
	srv_fail "no private exponent in the key process's locked memory ($locked)"
srv_log_clean
srv_stop

# --- 2. user = nobody ----------------------------------------------------------------
chmod 0755 "$T"
chmod 0700 "$T/keys"              # the key store stays root's: the key process reads it
chown nobody: "$T/spool"
echo "user = nobody" >> "$T/server.conf"
echo "spool_memory_max = 0" >> "$T/server.conf" # every upload through a spool file
SRV_PIN=" " srv_start
! grep -q 'running as root without' "$SRV_LOG" || srv_fail "root warning with user set"
grep -q "user = nobody: requests are parsed as uid $NOBODY gid $NOGROUP" "$SRV_LOG" ||
	srv_fail "privilege drop not reported"
sign_both nobody
for st in /proc/"$SRV_PID"/task/*/status; do
	[ "$(status "$st" Uid)" = "$NOBODY $NOBODY $NOBODY $NOBODY" ] || srv_fail "$st: Uid $(status "$st" Uid)"
	[ "$(status "$st" Gid)" = "$NOGROUP $NOGROUP $NOGROUP $NOGROUP" ] || srv_fail "$st: Gid $(status "$st" Gid)"
	[ "$(status "$st" Groups)" = "$NOGROUP" ] || srv_fail "$st: Groups $(status "$st" Groups)"
	for c in CapInh CapPrm CapEff CapBnd CapAmb; do
		[ "$(status "$st" $c)" = 0000000000000000 ] || srv_fail "$st: $c $(status "$st" $c)"
	done
	[ "$(status "$st" NoNewPrivs)" = 1 ] || srv_fail "$st: NoNewPrivs $(status "$st" NoNewPrivs)"
done
kp=$(kp_pid)
[ "$(status /proc/"$kp"/status Uid | cut -d' ' -f1)" = 0 ] || srv_fail "the key process is not root"
[ "$(status /proc/"$kp"/status Seccomp)" = 2 ] || srv_fail "key process not filtered"
ls -d "$T"/spool/bootsign-spool.* >/dev/null || srv_fail "no private spool directory"
[ "$(stat -c %u "$T"/spool/bootsign-spool.*)" = "$NOBODY" ] || srv_fail "spool not given to nobody"
srv_healthy
srv_spool_empty
srv_log_clean
srv_stop
[ -z "$(ls -A "$T/spool")" ] || srv_fail "spool left behind: $(ls -A "$T/spool")"
# files nobody needs after the drop (SIGHUP reloads, mender write-back) but cannot use:
# warned at start, naming the setting, instead of failing on the first SIGHUP
(umask 077; echo 'allow anonymous * * *' > "$T/policy")
mkdir -m 0755 "$T/artifacts"
printf 'policy_file = %s\nallow_anonymous = yes\nmender_artifact_root = %s\n' \
	"$T/policy" "$T/artifacts" >> "$T/server.conf"
SRV_PIN=" " srv_start
for _ in $(seq 100); do grep -q "requests are parsed as uid" "$SRV_LOG" && break; sleep 0.05; done
grep -q "user = nobody cannot read policy_file $T/policy (Permission denied): SIGHUP cannot reload it" \
	"$SRV_LOG" || srv_fail "no warning for a policy_file nobody cannot read"
grep -q "user = nobody cannot write mender_artifact_root $T/artifacts (Permission denied)" \
	"$SRV_LOG" || srv_fail "no warning for a mender_artifact_root nobody cannot write"
srv_stop
chown nobody: "$T/policy" "$T/artifacts"
: > "$SRV_LOG"
SRV_PIN=" " srv_start
for _ in $(seq 100); do grep -q "requests are parsed as uid" "$SRV_LOG" && break; sleep 0.05; done
! grep -q "user = nobody cannot" "$SRV_LOG" || srv_fail "warned about files nobody can use"
srv_stop

# --- 3. start-up errors --------------------------------------------------------------
start_fails() { # start_fails CONF EXPECTED [runner...]: the server refuses to start
	local conf=$1 want=$2 rc=0
	shift 2
	"$@" timeout 10 "$BS_BIN" serve --port 0 --config "$conf" > "$T/err.out" 2>&1 || rc=$?
	[ "$rc" != 0 ] && [ "$rc" != 124 ] || srv_fail "started (or hung, $rc) with $conf"
	grep -qF -- "$want" "$T/err.out" || srv_fail "no '$want' in: $(cat "$T/err.out")"
}
cp "$T/base.conf" "$T/bad.conf"
echo "user = bootsign-no-such-user" >> "$T/bad.conf"
start_fails "$T/bad.conf" "user = bootsign-no-such-user: no such user"
cp "$T/base.conf" "$T/noiso.conf"
printf 'user = nobody\nkey_isolation = no\n' >> "$T/noiso.conf"
start_fails "$T/noiso.conf" "user = nobody: with key_isolation = no this user reads the keys"
# run as nobody: the binary and the configuration from a directory nobody may enter (the
# build tree or $T may sit below a 0700 directory, as in a fresh clone under mktemp -d)
pub=$(mktemp -d /tmp/bs-sandbox.XXXXXX)
chmod 0755 "$pub"
cp "$BS_BIN" "$pub/bootsign"
cp "$T/base.conf" "$pub/self.conf"
printf 'user = root\n' >> "$pub/self.conf"
chmod 0644 "$pub/self.conf"
BS_BIN=$pub/bootsign start_fails "$pub/self.conf" \
	"user = root: bootsign serve runs as uid $NOBODY, not root" \
	setpriv --reuid="$NOBODY" --regid="$NOGROUP" --clear-groups
rm -rf "$pub"
echo "test_server_sandbox: ok"
