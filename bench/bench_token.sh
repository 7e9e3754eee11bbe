#!/usr/bin/env bash
# Token signing bench: raw C_Sign loop vs bs_key_sign_digest through the session pool,
# against a throwaway SoftHSM2 token (or --module/--token of your own, PIN in
# $BOOTSIGN_PIN). Uses the release build of the core library (bench/lib.sh).
# usage: bench/bench_token.sh [bench_token options, e.g. --n 2000 --conc 1,4,16]
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
bench_build bootsign_core
# shellcheck disable=SC2086
cc -O2 -std=c17 -D_GNU_SOURCE -I"$ROOT/src" $(pkg-config --cflags p11-kit-1) \
	"$ROOT/bench/bench_token.c" "$BUILD/libbootsign_core.a" $BENCH_CORE_LIBS \
	-o "$BUILD/bench_token"

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
"$BUILD/bench_token" "$@"
