# Shared by the bench scripts (sourced). Benchmarks use the release build that
# scripts/run.sh makes (build/release; override with BS_BENCH_BUILD), which compiles
# warning-free at -O2 (scripts/test.sh checks it).
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BS_BENCH_BUILD:-$ROOT/build/release}
# Everything a program linked against libbootsign_core.a needs.
BENCH_CORE_LIBS="$(pkg-config --libs libmicrohttpd libarchive p11-kit-1 libp11 gnutls libssl libcrypto) -lfdt -lpthread -ldl"

# bench_build TARGET...: configure the release build and (re)build the targets.
bench_build() {
	cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DBS_TESTS=OFF >/dev/null
	cmake --build "$BUILD" -j2 --target "$@" >/dev/null
}

# bench_server_setup: build bootsign and the libcurl load generator; sets BIN, W (a work
# directory removed on exit) and PID (a server the exit trap stops when set).
bench_server_setup() {
	bench_build bootsign
	BIN=$BUILD/bootsign
	W=$(mktemp -d)
	PID=
	trap 'if [ -n "$PID" ]; then kill "$PID" 2>/dev/null; wait "$PID" 2>/dev/null; fi; rm -rf "$W"' EXIT
	cc -std=c17 -O2 -D_GNU_SOURCE -Wall -Wextra -o "$W/bench_server" \
		"$ROOT/bench/bench_server.c" $(pkg-config --libs libcurl libcrypto) -lpthread
}

# bench_start_server CMD...: run CMD (a `bootsign serve --port 0 ...` command line, maybe
# behind taskset or env) with stderr to $W/server.log; sets PID and PORT once it listens.
bench_start_server() {
	: > "$W/server.log"
	"$@" 2>>"$W/server.log" &
	PID=$!
	PORT=
	for _ in $(seq 100); do
		PORT=$(sed -n 's/.*listening on [^ ]* port \([0-9]*\).*/\1/p' "$W/server.log" | head -n1)
		[ -n "$PORT" ] && return
		sleep 0.05
	done
	echo "server did not start" >&2; cat "$W/server.log" >&2; exit 1
}
# bench_stop_server: SIGTERM the server bench_start_server started, and wait for it.
bench_stop_server() { kill "$PID"; wait "$PID" || true; PID=; }

# bench_imx_fixture: an RSA-2048 HAB4 PKI from `bootsign pki create` as the key store of
# machine "bench" ($W/keys/bench/imxsign), a 1 MiB IVT image $W/c/bench.bin and the CSF
# $W/c/bench.csf that signs all of it with the PKI's CSF1/IMG1 keys; $W/spool made.
bench_imx_fixture() {
	local fix=$ROOT/tests/fixtures/hab4-vectors/rsa csfk imgk
	"$BIN" pki create --out "$W/pki" --key rsa2048 >/dev/null 2>&1
	mkdir -p "$W/keys/bench/imxsign" "$W/c" "$W/spool"
	cp "$W/pki/imx-cst-keys.tar.gz" "$W/keys/bench/imxsign/"
	cp "$fix/u.bin" "$W/c/bench.bin"
	head -c $(((1 << 20) - 8192)) /dev/urandom >> "$W/c/bench.bin"
	csfk=$(cd "$W/pki" && ls crts/CSF1_1_*_crt.pem)
	imgk=$(cd "$W/pki" && ls crts/IMG1_1_*_crt.pem)
	sed -e "s#crts/SRK_table.bin#crts/SRK_1_2_3_4_table.bin#" -e "s#crts/CSF1_crt.pem#$csfk#" \
	    -e "s#crts/IMG1_crt.pem#$imgk#" \
	    -e "s#0x87800000 0x0 0x2000 \"u.bin\"#0x87800000 0x0 0x100000 \"bench.bin\"#" \
	    "$fix/u.csf" > "$W/c/bench.csf"
}
