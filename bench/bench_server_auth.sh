#!/bin/bash
# Cost of access control: /sign/imx (RSA-2048 PKI, 1 MiB artifact) at c=1 and c=8 on the
# same machine in the same run, first plain HTTP without access control, then HTTPS with a
# bearer token, a policy file and the audit log (a record fdatasync'ed before every
# answer, sealed every 16 records); in between plain HTTP with the audit log only.
# Server on CPU 0, load generator on CPU 1.
#   Usage: bench/bench_server_auth.sh
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
bench_server_setup
bench_imx_fixture
(cd "$W" && openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 \
	-subj /CN=bench-ca -addext subjectAltName=IP:127.0.0.1 >/dev/null 2>&1 &&
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out audit.key 2>/dev/null &&
	chmod 600 ca.key audit.key)
TOKEN=$("$BIN" token add --tokens "$W/tokens" bench 2>/dev/null)
printf 'allow bench imx bench *\n' > "$W/policy"
cat > "$W/auth.conf" <<CONF
tls_cert = $W/ca.pem
tls_key = $W/ca.key
tokens_file = $W/tokens
policy_file = $W/policy
audit_log = $W/audit.log
audit_key = $W/audit.key
CONF
printf '# no access control\n' > "$W/plain.conf"
printf 'audit_log = %s/audit-only.log\naudit_key = %s/audit.key\n' "$W" "$W" > "$W/audit.conf"

start_server() {
	bench_start_server taskset -c 0 "$BIN" serve --port 0 --keys "$W/keys" --spool-dir "$W/spool" \
		--config "$1"
}
stop_server() { kill "$PID"; wait "$PID" || true; PID=; }

echo "== bench_server_auth: $(nproc) CPUs, audit log on $(df -T "$W" | awk 'NR==2{print $2}')"
for mode in plain audit auth; do
	start_server "$W/$mode.conf"
	for c in 1 8; do
		n=$(( c == 1 ? 200 : 40 ))
		if [ $mode != auth ]; then
			label="plain HTTP, no audit"
			[ $mode = audit ] && label="plain HTTP + audit"
			taskset -c 1 "$W/bench_server" --url "http://127.0.0.1:$PORT/sign/imx" \
				--csf "$W/c/bench.csf" --artifact "$W/c/bench.bin" --machine bench \
				-c $c -n $n --server-pid "$PID" --label "$label"
		else
			taskset -c 1 "$W/bench_server" --url "https://127.0.0.1:$PORT/sign/imx" \
				--cacert "$W/ca.pem" --header "Authorization: Bearer $TOKEN" \
				--csf "$W/c/bench.csf" --artifact "$W/c/bench.bin" --machine bench \
				-c $c -n $n --server-pid "$PID" --label "TLS + token + policy + audit"
		fi
	done
	stop_server
done
"$BIN" audit verify "$W/audit.log" >/dev/null || { echo "audit log does not verify" >&2; exit 1; }
