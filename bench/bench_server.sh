#!/bin/bash
# Benchmark `bootsign serve` (release build): /sign/imx with RSA-2048 and RSA-4096 PKIs,
# 1 MiB artifacts, concurrency 1 and 8, server pinned to CPU 0 and the load generator
# to CPU 1, next to the raw RSA signing rate; then the server's peak RSS with 16
# concurrent 64 MiB uploads.   Usage: bench/bench_server.sh
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
bench_server_setup
FIX=$ROOT/tests/fixtures/hab4-vectors/rsa

# image: the test IVT image grown to SIZE bytes; CSF signing its first SIGNED bytes
make_client() { # DIR PKI SIZE SIGNED
	local d=$1 pki=$2 csfk imgk
	mkdir -p "$d"
	cp "$FIX/u.bin" "$d/bench.bin"
	head -c $(($3 - 8192)) /dev/urandom >> "$d/bench.bin"
	csfk=$(cd "$pki" && ls crts/CSF1_1_*_crt.pem)
	imgk=$(cd "$pki" && ls crts/IMG1_1_*_crt.pem)
	sed -e "s#crts/SRK_table.bin#crts/SRK_1_2_3_4_table.bin#" -e "s#crts/CSF1_crt.pem#$csfk#" \
	    -e "s#crts/IMG1_crt.pem#$imgk#" \
	    -e "s#0x87800000 0x0 0x2000 \"u.bin\"#0x87800000 0x0 $(printf 0x%x "$4") \"bench.bin\"#" \
	    "$FIX/u.csf" > "$d/bench.csf"
}
for bits in 2048 4096; do
	"$BIN" pki create --out "$W/pki$bits" --key rsa$bits >/dev/null 2>&1
	mkdir -p "$W/keys/bench$bits/imxsign"
	cp "$W/pki$bits/imx-cst-keys.tar.gz" "$W/keys/bench$bits/imxsign/"
	make_client "$W/c$bits" "$W/pki$bits" $((1 << 20)) $((1 << 20))
done
make_client "$W/big" "$W/pki2048" $((64 << 20)) $((1 << 20))
mkdir -p "$W/spool"

start_server() {
	bench_start_server taskset -c 0 "$BIN" serve --port 0 --keys "$W/keys" --spool-dir "$W/spool"
}
stop_server() { bench_stop_server; }

echo "== bench_server: $(nproc) CPUs, $(openssl version), server on CPU 0, clients on CPU 1"
start_server
for bits in 2048 4096; do
	pass=$(head -n1 "$W/pki$bits/keys/key_pass.txt")
	key=$(ls "$W"/pki$bits/keys/CSF1_1_*_key.pem)
	for c in 1 8; do
		n=$(( c == 1 ? 200 : 40 ))
		[ "$bits" = 4096 ] && n=$(( c == 1 ? 60 : 15 ))
		taskset -c 1 "$W/bench_server" --url "http://127.0.0.1:$PORT/sign/imx" \
			--csf "$W/c$bits/bench.csf" --artifact "$W/c$bits/bench.bin" \
			--machine bench$bits -c $c -n $n --server-pid "$PID" \
			--key "$key" --pass "$pass" --label "RSA-$bits 1MiB"
	done
done
stop_server
start_server
taskset -c 1 "$W/bench_server" --url "http://127.0.0.1:$PORT/sign/imx" \
	--csf "$W/big/bench.csf" --artifact "$W/big/bench.bin" --machine bench2048 -c 16 -n 1 \
	--server-pid "$PID" --label "RSA-2048 64MiB x16"
stop_server
