#!/bin/bash
# Cost of key isolation: /sign/imx (RSA-2048 PKI, 1 MiB artifact) at c=1 and c=8, same run,
# same machine: the keys in the server process (key_isolation = no) against the keys in the
# key process (key_isolation = yes), each without and with the audit log (a record
# fdatasync'ed before every answer). Target (issue 12): the isolated path within 15 % of
# the direct one at c=8. Server (and its key process) on CPU 0, load generator on CPU 1.
#   Usage: bench/bench_keyproc.sh [REQUESTS_PER_CLIENT_AT_C8]
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
bench_server_setup
per8=${1:-50}
bench_imx_fixture
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$W/audit.key" 2>/dev/null
chmod 600 "$W/audit.key"
for iso in no yes; do
	printf 'key_isolation = %s\n' "$iso" > "$W/$iso.conf"
	printf 'key_isolation = %s\naudit_log = %s/audit-%s.log\naudit_key = %s/audit.key\n' \
		"$iso" "$W" "$iso" "$W" > "$W/$iso-audit.conf"
done

echo "== bench_keyproc: $(nproc) CPUs, $(openssl version | cut -d' ' -f1-2), audit log on" \
	"$(df -T "$W" | awk 'NR==2{print $2}'), $per8 requests per client at c=8"
# user + system CPU ticks of a process (0 when there is none)
ticks() { [ -n "$1" ] && awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
for conf in no yes no-audit yes-audit; do
	bench_start_server taskset -c 0 "$BIN" serve --port 0 --keys "$W/keys" \
		--spool-dir "$W/spool" --config "$W/$conf.conf"
	case $conf in
	no) label="direct" ;; yes) label="key process" ;;
	no-audit) label="direct + audit" ;; yes-audit) label="key process + audit" ;;
	esac
	kp=$(sed -n 's/.*key process \([0-9]*\) started.*/\1/p' "$W/server.log" | tail -n1)
	for c in 1 8; do
		n=$(( c == 1 ? 8 * per8 : per8 ))
		s0=$(ticks "$PID") k0=$(ticks "$kp")
		line=$(taskset -c 1 "$W/bench_server" --url "http://127.0.0.1:$PORT/sign/imx" \
			--csf "$W/c/bench.csf" --artifact "$W/c/bench.bin" --machine bench \
			-c $c -n $n --label "$label")
		s1=$(ticks "$PID") k1=$(ticks "$kp")
		tick=$(getconf CLK_TCK)
		line+=$(printf '  CPU/req: server %.2f ms' "$(echo "($s1 - $s0) * 1000 / $tick / $n / $c" | bc -l)")
		[ -n "$kp" ] && line+=$(printf ' + key process %.2f ms' \
			"$(echo "($k1 - $k0) * 1000 / $tick / $n / $c" | bc -l)")
		echo "$line" | tee -a "$W/results"
	done
	if [ "${conf%-audit}" = yes ]; then
		grep -q "key process [0-9]* started" "$W/server.log" ||
			{ echo "no key process in $conf" >&2; exit 1; }
	fi
	kill "$PID"; wait "$PID" || true; PID=
done
for a in "" " + audit"; do
	rate() { awk -v l="$1" 'substr($0, 1, 29) == sprintf("%-29s", l) && $0 ~ / c=8 / {
		for (i = 1; i <= NF; i++) if ($i == "req/s") print $(i - 1) }' "$W/results"; }
	d=$(rate "direct$a")
	k=$(rate "key process$a")
	printf 'c=8%-8s key process / direct = %s / %s req/s = %5.1f %% (target >= 85 %%)\n' "$a" \
		"$k" "$d" "$(echo "100 * $k / $d" | bc -l)"
done
