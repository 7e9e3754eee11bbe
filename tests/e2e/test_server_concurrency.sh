#!/usr/bin/env bash
# bootsign serve under load: 16 parallel clients x 50 requests, each client with its own
# artifact. Every response is a CSF whose command region equals all the others; one
# response per client verifies (bootsign hab verify against that client's artifact, so
# answers cannot have been crossed between requests); a sample passes openssl cms.
set -euo pipefail
. "$BS_SRCDIR/tests/e2e/lib/server_common.sh"
srv_setup
srv_start
CLIENTS=16
PER=50
cd "$T/client"
for c in $(seq 1 $CLIENTS); do
	mkdir -p "c$c"
	cp imx-boot-sd.bin "c$c/imx-boot-sd.bin"
	head -c 4096 /dev/urandom | dd of="c$c/imx-boot-sd.bin" bs=1 seek=2048 conv=notrunc \
		status=none
done

client() {
	local c=$1 i
	for i in $(seq 1 $PER); do
		curl --silent --fail -X POST -F machine=imx8mp -F soctype=mx8m -F cstversion=3.3.2 \
			-F "csf=@flash.csf;type=text/plain" -F "artifact=@c$c/imx-boot-sd.bin" \
			--output "c$c/r$i.bin" "$URL/sign/imx" || { echo "client $c request $i" > "c$c/FAILED"; return 1; }
	done
}
start=$(date +%s)
pids=()
for c in $(seq 1 $CLIENTS); do
	client "$c" &
	pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || true; done
echo "$((CLIENTS * PER)) requests in $(( $(date +%s) - start )) s"
ls c*/FAILED >/dev/null 2>&1 && srv_fail "failed: $(cat c*/FAILED | head -3)"

ref=c1/r1.bin
hi=$(od -An -tu1 -j1 -N1 "$ref" | tr -d ' ')
lo=$(od -An -tu1 -j2 -N1 "$ref" | tr -d ' ')
len=$((hi * 256 + lo))
total=0
for f in c*/r*.bin; do
	cmp -s -n "$len" "$ref" "$f" || srv_fail "$f: command region differs"
	total=$((total + 1))
done
[ "$total" = $((CLIENTS * PER)) ] || srv_fail "only $total responses"
for c in $(seq 1 $CLIENTS); do
	w=$T/v$c
	mkdir -p "$w"
	cp "c$c/imx-boot-sd.bin" "$w/signed.img"
	dd if="c$c/r$PER.bin" of="$w/signed.img" bs=1 seek=8192 conv=notrunc status=none
	truncate -s 12288 "$w/signed.img"
	"$BS_BIN" hab verify --quiet --fuse "$FIX/crts/SRK_fuse.bin" --ivt-offset 0 \
		"$w/signed.img" || srv_fail "client $c: response does not verify with its artifact"
done
for c in 1 8 16; do
	verify_blob "$T/client/c$c/r$((c * 3)).bin" "$T/client/c$c/imx-boot-sd.bin" "$T/o$c"
done
srv_healthy
srv_spool_empty
[ "$(grep -c 'status=200' "$SRV_LOG")" -ge $((CLIENTS * PER)) ] || srv_fail "log lines missing"
srv_log_clean
srv_stop
echo "test_server_concurrency: ok"
