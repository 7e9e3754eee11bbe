#!/usr/bin/env bash
# Token signing bench: raw C_Sign loop vs bs_key_sign_digest through the session pool,
# against a throwaway SoftHSM2 token (or --module/--token of your own, PIN in
# $BOOTSIGN_PIN). Builds an optimised, sanitizer-free core library in build-bench/.
# usage: bench/bench_token.sh [bench_token options, e.g. --n 2000 --conc 1,4,16]
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
B=$SRC/build-bench
# -Wno-error=maybe-uninitialized: -O2 warnings elsewhere in the tree must not stop a bench
cmake -S "$SRC" -B "$B" -DCMAKE_BUILD_TYPE=Release -DBS_TESTS=OFF \
	-DCMAKE_C_FLAGS="-Wno-error=maybe-uninitialized" >/dev/null
cmake --build "$B" -j2 --target bootsign_core >/dev/null
# shellcheck disable=SC2046
cc -O2 -std=c17 -D_GNU_SOURCE -I"$SRC/src" "$SRC/bench/bench_token.c" "$B/libbootsign_core.a" \
	$(pkg-config --cflags --libs p11-kit-1 libcrypto libmicrohttpd libarchive libp11) \
	-lpthread -ldl -o "$B/bench_token"

if [ -z "${BOOTSIGN_PIN:-}" ]; then
	T=$(mktemp -d)
	trap 'rm -rf "$T"' EXIT
	mkdir "$T/tokens"
	printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' \
		"$T" >"$T/softhsm2.conf"
	export SOFTHSM2_CONF=$T/softhsm2.conf
	softhsm2-util --init-token --free --label YubiHSM --pin 0001password --so-pin 12345678 \
		>/dev/null
	export BOOTSIGN_PIN=0001password
fi
"$B/bench_token" "$@"
