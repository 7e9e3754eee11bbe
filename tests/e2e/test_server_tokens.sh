#!/usr/bin/env bash
# The server owns its tokens (issue 14 item 1). SoftHSM2 behind the counting shim holds
# the server's token 'YubiHSM' and someone else's token 'Other'; pkcs11_tokens is the
# default (YubiHSM), the pool 2 sessions.
#  - 8 invented token names, then token-name churn: each a 4xx naming the token, with no
#    session opened, no login (the PIN goes nowhere) and no thread started; the real token
#    then signs (the names did not use up anything);
#  - token=Other (present, not the server's): 4xx, no login at all to it;
#  - 4 descriptions of the one token (label, +manufacturer, +model, serial), 4 concurrent
#    requests each: all 200 from one pool: at most pool_size sessions ever opened.
set -euo pipefail
. "$BS_SRCDIR/tests/e2e/lib/server_common.sh"
. "$BS_SRCDIR/tests/e2e/lib/common.sh"
: "${BS_P11SHIM:?BS_P11SHIM (the shim module) must be set}"
srv_setup
MOD=/usr/lib/softhsm/libsofthsm2.so
softhsm_token "$T/hsm" YubiHSM "$TEST_PIN"
softhsm2-util --init-token --free --label Other --so-pin 12345678 --pin other-tenant-pin >/dev/null
id=1
for k in CSF1 IMG1; do
	openssl pkey -in "$FIX/keys/${k}_key.pem" -outform DER -out "$T/$k.key.der"
	openssl x509 -in "$FIX/crts/${k}_crt.pem" -outform DER -out "$T/$k.crt.der"
	for tok in "YubiHSM $TEST_PIN" "Other other-tenant-pin"; do
		set -- $tok
		pkcs11-tool --module $MOD --token-label "$1" --login --pin "$2" --write-object "$T/$k.key.der" \
			--type privkey --id 0$id --label $k --usage-sign >/dev/null 2>&1
		pkcs11-tool --module $MOD --token-label "$1" --login --pin "$2" --write-object "$T/$k.crt.der" \
			--type cert --id 0$id --label $k >/dev/null 2>&1
	done
	id=$((id + 1))
done
SERIAL=$(softhsm2-util --show-slots | awk '/Serial number:/{s=$3} /Label: *YubiHSM/{print s; exit}')
[ -n "$SERIAL" ] || srv_fail "no serial for YubiHSM"
export P11SHIM_CTL=$T/shim.ctl P11SHIM_COUNT=$T/shim.count
: > "$P11SHIM_CTL"
printf 'pkcs11_module = %s\npkcs11_pool_size = 2\n' "$BS_P11SHIM" >> "$T/server.conf"
srv_start
count() { sed -n "s/.*\\b$1=\\([0-9]*\\).*/\\1/p" "$P11SHIM_COUNT" 2>/dev/null || true; }
threads() { ls "/proc/$SRV_PID/task" | wc -l; }
cd "$T/client"
mk() { sed -e "s#\"crts/CSF1_crt.pem\"#\"pkcs11:$1;object=CSF1;type=cert;pin-value=password\"#" \
	-e "s#\"crts/IMG1_crt.pem\"#\"pkcs11:$1;object=IMG1;type=cert;pin-value=password\"#" flash.csf > "$2"; }
post() { # csf -> status (body in body.txt)
	curl -s -m 20 -o body.txt -w '%{http_code}' -X POST -F machine=imx8mp -F soctype=mx8m \
		-F cstversion=3.3.2 -F backend=pkcs11 -F "csf=@$1;type=text/plain" \
		-F "artifact=@imx-boot-sd.bin" "$URL/sign/imx"
}
th0=$(threads)
for i in $(seq 8) $(seq 20 | sed 's/^/churn-/'); do
	mk "token=x$i" bogus.csf
	code=$(post bogus.csf)
	[ "${code:0:1}" = 4 ] || srv_fail "token=x$i answered $code: $(cat body.txt)"
	grep -q "token 'x$i'" body.txt || srv_fail "token=x$i: body does not name it: $(cat body.txt)"
done
[ -z "$(count open)" ] || [ "$(count open)" = 0 ] || srv_fail "invented tokens opened $(count open) sessions"
[ -z "$(count login)" ] || [ "$(count login)" = 0 ] || srv_fail "invented tokens got a login"
[ "$(threads)" = "$th0" ] || srv_fail "invented tokens started threads ($th0 -> $(threads))"
mk "token=YubiHSM" real.csf
code=$(post real.csf)
[ "$code" = 200 ] || srv_fail "the real token after 28 invented ones: $code $(cat body.txt)"
logins=$(count login)
[ "$logins" -ge 1 ] || srv_fail "no login counted for the real token"

mk "token=Other" other.csf
for _ in 1 2; do
	code=$(post other.csf)
	[ "$code" = 400 ] || srv_fail "token=Other answered $code: $(cat body.txt)"
	grep -q "token 'Other' is not a token this server signs with ('YubiHSM')" body.txt ||
		srv_fail "token=Other body: $(cat body.txt)"
done
[ "$(count login)" = "$logins" ] || srv_fail "a login happened for token=Other"

n=0
for d in "token=YubiHSM" "token=YubiHSM;manufacturer=SoftHSM%20project" \
	"token=YubiHSM;model=SoftHSM%20v2" "serial=$SERIAL"; do
	n=$((n + 1))
	mk "$d" "d$n.csf"
	for c in 1 2 3 4; do post "d$n.csf" > "code$n.$c" & done
done
wait $(jobs -p | grep -vx "$SRV_PID") || true
for f in code*.*; do [ "$(cat "$f")" = 200 ] || srv_fail "$f: $(cat "$f")"; done
opened=$(count open)
[ "$opened" -le 2 ] || srv_fail "$opened sessions opened on the one token (pool_size 2)"
[ "$(count login)" -le 2 ] || srv_fail "$(count login) logins (one pool expected)"
srv_log_clean
srv_stop
echo "ok: the server owns its tokens (sessions opened: $opened)"
