#!/bin/bash
# bootsign client imx on a 256 MiB two-IVT flash.bin (SPL + FIT, the FIT CSF covering
# ~256 MiB), full upload vs --digest-only, against a local release server in the same run:
# prints wall time, bytes the client sent (its -v lines) and bytes the server received
# (the request log's bytes=), and checks that both outputs are identical.
#   Usage: bench/bench_client.sh [size MiB (default 256)] [runs (default 2)]
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
MIB=${1:-256}
RUNS=${2:-2}
bench_server_setup # BIN, W, PID and the exit trap
FIX=$ROOT/tests/fixtures/hab4-vectors/rsa
mkdir -p "$W/keys/bench/imxsign" "$W/spool" "$W/img"
tar -C "$FIX" -czf "$W/keys/bench/imxsign/imx-cst-keys.tar.gz" crts keys/CSF1_key.pem keys/IMG1_key.pem
python3 "$ROOT/tests/fixtures/flash-spl-fit/mkflash.py" "$W/img" --size-mib "$MIB" >/dev/null
bench_start_server env SOURCE_DATE_EPOCH=1700000000 "$BIN" serve --port 0 --keys "$W/keys" \
	--spool-dir "$W/spool"

run() { # NAME [--digest-only]
	local name=$1 t0 t1 sent recv ids
	shift
	t0=$(date +%s.%N)
	"$BIN" client imx -v --server "http://127.0.0.1:$PORT" --machine bench "$@" \
		--csf "$W/img/csf-spl.csf" --csf "$W/img/csf-fit.csf" \
		--fuse "$FIX/crts/SRK_fuse.bin" -o "$W/$name.bin" "$W/img/flash.bin" 2> "$W/$name.err" ||
		{ cat "$W/$name.err" >&2; exit 1; }
	t1=$(date +%s.%N)
	sent=$(sed -n 's/.* sent \([0-9]*\) bytes.*/\1/p' "$W/$name.err" | paste -sd+ | bc)
	ids=$(sed -n 's/.*request id \([0-9a-f]*\),.*/\1/p' "$W/$name.err")
	recv=0
	for id in $ids; do
		recv=$((recv + $(grep "\[$id\] request " "$W/server.log" | sed -n 's/.* bytes=\([0-9]*\) .*/\1/p')))
	done
	printf '%-12s %8.2f s  client sent %11d bytes  server received %11d bytes\n' \
		"$name" "$(echo "$t1 - $t0" | bc)" "$sent" "$recv"
}
echo "== bench_client: $(stat -c %s "$W/img/flash.bin") byte flash.bin, 2 CSFs (SPL, FIT)," \
	"$(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg), $(date -u +%FT%TZ)"
for r in $(seq "$RUNS"); do
	run "full-$r"
	run "digest-$r" --digest-only
done
cmp "$W/full-1.bin" "$W/digest-1.bin" && echo "outputs identical (full upload = digest-only)"
