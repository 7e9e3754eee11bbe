#!/bin/bash
# Benchmark AHAB signing through `bootsign serve` (release build): a 64 MiB container
# image (two images, RSA-2048 PKI from `pki create --ahab`) posted to /sign/imx, the
# signed image streamed back from the job's file sink. Reports the server's peak RSS
# (VmHWM; must stay < 32 MiB, independent of the image size) and the job time from the
# server log (the signer's own line: hashing + signature, copying the image into the
# output) next to the floor measured in the same run: hashing the images
# (openssl dgst) + one RSA-2048 signature (openssl pkeyutl); target: job <= 1.5 x floor.
# Usage: bench/bench_ahab.sh [SIZE_MIB]
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
bench_server_setup
MIB=${1:-64}
H="python3 $ROOT/tests/e2e/lib/ahab.py"
"$BIN" pki create --ahab --sgk --key rsa2048 --out "$W/pki" >/dev/null 2>&1
mkdir -p "$W/keys/ahab/imxsign" "$W/spool" "$W/c"
cp "$W/pki/imx-cst-keys.tar.gz" "$W/keys/ahab/imxsign/"
$H build "$W/c/flash.bin" --size0 $((MIB << 20))
cat > "$W/c/ahab.csf" <<X
[Header]
Target = AHAB
Version = 1.0
[Install SRK]
File = "crts/SRK_1_2_3_4_table.bin"
Source = "crts/SRK1_sha256_2048_65537_v3_ca_crt.pem"
Source Index = 0
Source Set = OEM
Revocations = 0x0
[Install Certificate]
File = "crts/SGK1_1_sha256_2048_65537_v3_usr_crt.pem"
Permissions = 0x1
Signature = "crts/SGK1_1_sha256_2048_65537_v3_usr_cert_sig.bin"
[Authenticate Data]
File = "flash.bin"
Offsets = 0 0x110
X
# the server never loads SRK keys: it signs with SGK1, whose certificate signature by
# SRK1 `pki create --ahab --sgk` made beforehand
: > "$W/server.log"
taskset -c 0 "$BIN" serve --port 0 --keys "$W/keys" --spool-dir "$W/spool" 2>>"$W/server.log" &
PID=$!
PORT=
for _ in $(seq 100); do
	PORT=$(sed -n 's/.*listening on [^ ]* port \([0-9]*\).*/\1/p' "$W/server.log")
	[ -n "$PORT" ] && break
	sleep 0.05
done
[ -n "$PORT" ] || { echo "server did not start" >&2; cat "$W/server.log" >&2; exit 1; }
echo "== bench_ahab: ${MIB} MiB AHAB image, RSA-2048, $(nproc) CPUs, $(openssl version)"
best_job=
for run in 1 2 3; do
	t=$(taskset -c 1 curl --silent -o "$W/c/signed.bin" -w '%{http_code} %{time_total}' \
		-X POST -F machine=ahab -F soctype=mx8qxp -F cstversion=4.0.1 \
		-F "csf=@$W/c/ahab.csf;type=text/plain" -F "artifact=@$W/c/flash.bin" \
		"http://127.0.0.1:$PORT/sign/imx")
	[ "${t%% *}" = 200 ] || { echo "signing failed: $t" >&2; tail -3 "$W/server.log" >&2; exit 1; }
	line=$(grep 'ahab: container at' "$W/server.log" | tail -n1)
	sig=$(echo "$line" | sed -n 's/.* signed in \([0-9]*\) ms.*/\1/p')
	wr=$(echo "$line" | sed -n 's/.* written in \([0-9]*\) ms.*/\1/p')
	job=$((sig + wr))
	echo "run $run: curl total ${t#* } s (upload and download included); signer ${job} ms = hashes + signature ${sig} ms + copying the image to the output ${wr} ms"
	if [ -z "$best_job" ] || [ "$job" -lt "$best_job" ]; then best_job=$job; fi
done
"$BIN" ahab verify -q --fuse "$W/pki/crts/SRK_1_2_3_4_fuse.bin" "$W/c/signed.bin" >/dev/null ||
	{ echo "signed image does not verify" >&2; exit 1; }
rss_kb=$(sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$PID/status")
kill "$PID"; wait "$PID" 2>/dev/null || true; PID=
# floor: hash the image bytes once + one signature, same machine, same run
key=$(ls "$W"/pki/keys/SGK1_*_key.pem)
pass=$(head -n1 "$W/pki/keys/key_pass.txt")
s=$(date +%s%N)
openssl dgst -sha256 -binary "$W/c/flash.bin" > "$W/d"
openssl pkeyutl -sign -inkey "$key" -passin "pass:$pass" -in "$W/d" -pkeyopt digest:sha256 -out /dev/null
floor=$(( ($(date +%s%N) - s) / 1000000 ))
echo "peak RSS ${rss_kb} kB (limit 32768 kB); job ${best_job} ms vs floor ${floor} ms (hash ${MIB} MiB + 1 signature)"
ok=1
[ "$rss_kb" -lt 32768 ] || { echo "FAIL: peak RSS over 32 MiB"; ok=0; }
[ $((best_job * 2)) -le $((floor * 3)) ] || { echo "FAIL: job slower than 1.5 x floor"; ok=0; }
[ "$ok" = 1 ] && echo "PASS"
