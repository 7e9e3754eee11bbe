#!/bin/bash
# Benchmark `bootsign serve` with backend=pkcs11 (digsigserver's HSM mode) against a
# private SoftHSM2 token set up like a YubiHSM 2 (label YubiHSM, user PIN 0001password):
# a `bootsign pki create --token` RSA-2048 PKI (CSF/IMG keys generated in the token, the
# machine's bundle holds only the SRK table and fuse), the server started with the PIN in
# a 0600 pin file and pkcs11_pool_size = 4, CSFs naming the token objects as
# pkcs11:token=YubiHSM;object=...;type=cert;pin-value=password.
#
# Prints requests/s at concurrency 1, 4 and 16 (8 KiB image, so the token's signing cost
# dominates) next to the raw token signing rate measured in the same run on the same core
# by bench/bench_token.sh (its raw C_SignInit + C_Sign loop, RSA-2048), and the number of
# failed requests (must be 0 at concurrency 16 with a pool of 4: requests wait for a
# session instead of failing). Server and raw loop on CPU 0, load generator on CPU 1.
#   Usage: bench/bench_server_token.sh [requests per client at c=1 (default 300)]
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
N1=${1:-300}
MOD=/usr/lib/softhsm/libsofthsm2.so
[ -e "$MOD" ] || { echo "SoftHSM2 module $MOD missing (apt-get install softhsm2)" >&2; exit 1; }
bench_server_setup

# private token
PIN=0001password
mkdir -p "$W/tokens"
printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' \
	"$W" > "$W/softhsm2.conf"
export SOFTHSM2_CONF=$W/softhsm2.conf
softhsm2-util --init-token --free --label YubiHSM --pin "$PIN" --so-pin 12345678 >/dev/null
(umask 077 && printf '%s\n' "$PIN" > "$W/pin.txt")

# PKI with its CSF/IMG keys generated in the token; bundle = SRK table + fuse only
"$BIN" pki create --out "$W/pki" --key rsa2048 --token 'pkcs11:token=YubiHSM' \
	--module "$MOD" --pin-file "$W/pin.txt" >/dev/null 2>&1
mkdir -p "$W/keys/benchhsm/imxsign" "$W/spool" "$W/c"
tar -C "$W/pki" -czf "$W/keys/benchhsm/imxsign/imx-cst-keys.tar.gz" \
	crts/SRK_1_2_3_4_table.bin crts/SRK_1_2_3_4_fuse.bin
csfl=$(cd "$W/pki/crts" && basename "$(ls CSF1_1_*_usr_crt.pem)" _crt.pem)
imgl=$(cd "$W/pki/crts" && basename "$(ls IMG1_1_*_usr_crt.pem)" _crt.pem)
FIX=$ROOT/tests/fixtures/hab4-vectors/rsa
cp "$FIX/u.bin" "$W/c/bench.bin"
sed -e "s#crts/SRK_table.bin#crts/SRK_1_2_3_4_table.bin#" \
    -e "s#\"crts/CSF1_crt.pem\"#\"pkcs11:token=YubiHSM;object=$csfl;type=cert;pin-value=password\"#" \
    -e "s#\"crts/IMG1_crt.pem\"#\"pkcs11:token=YubiHSM;object=$imgl;type=cert;pin-value=password\"#" \
    -e "s#\"u.bin\"#\"bench.bin\"#" "$FIX/u.csf" > "$W/c/bench.csf"
grep -q "object=$imgl;type=cert;pin-value=password" "$W/c/bench.csf"

# raw token rate on the server's core, same token, same run (bench_token's own RSA-2048 key)
echo "== bench_server_token: $(nproc) CPUs, SoftHSM2 $(softhsm2-util --version), pool 4"
BOOTSIGN_PIN=$PIN taskset -c 0 "$ROOT/bench/bench_token.sh" --token YubiHSM --pool 4 \
	--conc 1,4,16 --n 2000 > "$W/raw.txt"
sed 's/^/   bench_token: /' "$W/raw.txt"
raw() { awk -v c="$1" '$1 == "rsa2048" && $2 == c { print $3 }' "$W/raw.txt"; }

cat > "$W/server.conf" <<EOF
keyfile_uri = file://$W/keys
spool_dir = $W/spool
pkcs11_module = $MOD
pkcs11_pin_file = $W/pin.txt
pkcs11_pool_size = 4
EOF
bench_start_server taskset -c 0 "$BIN" serve --port 0 --config "$W/server.conf"
run() { # C N [label]
	taskset -c 1 "$W/bench_server" --url "http://127.0.0.1:$PORT/sign/imx" --backend pkcs11 \
		--csf "$W/c/bench.csf" --artifact "$W/c/bench.bin" --machine benchhsm -c "$1" \
		-n "$2" --server-pid "$PID" --raw-rate "$(raw "$1")" --label "${3:-token RSA-2048 8KiB}"
}
run 1 5 warm-up >/dev/null || { echo "warm-up failed" >&2; tail -5 "$W/server.log" >&2; exit 1; }
status=0
run 1 "$N1" || status=1
run 4 $((N1 / 4)) || status=1
run 16 $((N1 / 16 + 1)) || status=1
grep -c 'status=200' "$W/server.log" | sed 's/^/server log: requests answered 200: /'
! grep -q "$PIN" "$W/server.log" || { echo "PIN found in the server log" >&2; status=1; }
exit $status
